package detect

import "encoding/json"

// record is the part of a CloudTrail record sgwatch reads. encoding/json
// matches keys case-insensitively, which absorbs the lower-case
// userIdentity keys and the capitalised ModifySecurityGroupRules keys seen
// in real records.
type record struct {
	header
	EventID            text            `json:"eventID"`
	EventTime          text            `json:"eventTime"`
	AWSRegion          text            `json:"awsRegion"`
	RecipientAccountID text            `json:"recipientAccountId"`
	RequestID          text            `json:"requestID"`
	SourceIPAddress    text            `json:"sourceIPAddress"`
	UserAgent          text            `json:"userAgent"`
	ErrorCode          text            `json:"errorCode"`
	ErrorMessage       text            `json:"errorMessage"`
	UserIdentity       identity        `json:"userIdentity"`
	FromConsole        flag            `json:"sessionCredentialFromConsole"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
}

// header names the call. When a record does not decode whole, the header
// alone decides whether that is an error: a record of another call is never
// rejected for a shape sgwatch does not read.
type header struct {
	EventName   text `json:"eventName"`
	EventSource text `json:"eventSource"`
}

// call returns the security-group call the record is of, or nil.
func (h header) call() *Call {
	if h.EventSource.v != EventSource {
		return nil
	}
	return byName[h.EventName.v]
}

type identity struct {
	Type           text `json:"type"`
	PrincipalID    text `json:"principalId"`
	ARN            text `json:"arn"`
	AccountID      text `json:"accountId"`
	AccessKeyID    text `json:"accessKeyId"`
	UserName       text `json:"userName"`
	InvokedBy      text `json:"invokedBy"`
	SessionContext struct {
		SessionIssuer struct {
			ARN      text `json:"arn"`
			UserName text `json:"userName"`
		} `json:"sessionIssuer"`
		Attributes struct {
			MFAAuthenticated flag `json:"mfaAuthenticated"`
		} `json:"attributes"`
	} `json:"sessionContext"`
}

// params is requestParameters of every security-group call.
type params struct {
	GroupID          text             `json:"groupId"`
	GroupName        text             `json:"groupName"`
	GroupDescription text             `json:"groupDescription"`
	VPCID            text             `json:"vpcId"`
	IPPermissions    list[permission] `json:"ipPermissions"`

	// The legacy flat form of Authorize/Revoke.
	IPProtocol                 text `json:"ipProtocol"`
	FromPort                   port `json:"fromPort"`
	ToPort                     port `json:"toPort"`
	CIDRIP                     text `json:"cidrIp"`
	SourceSecurityGroupName    text `json:"sourceSecurityGroupName"`
	SourceSecurityGroupOwnerID text `json:"sourceSecurityGroupOwnerId"`

	SecurityGroupRuleIDs          list[ruleRef]         `json:"securityGroupRuleIds"`
	SecurityGroupRuleDescriptions list[ruleDescription] `json:"securityGroupRuleDescriptions"`

	Modify *modifyRequest `json:"ModifySecurityGroupRulesRequest"`

	unread bool // requestParameters was not an object

	// Newer calls may wrap capitalised parameters in a request object.
	Associate    *vpcRequest `json:"AssociateSecurityGroupVpcRequest"`
	Disassociate *vpcRequest `json:"DisassociateSecurityGroupVpcRequest"`
}

type vpcRequest struct {
	GroupID text `json:"GroupId"`
	VPCID   text `json:"VpcId"`
}

type permission struct {
	IPProtocol    text             `json:"ipProtocol"`
	FromPort      port             `json:"fromPort"`
	ToPort        port             `json:"toPort"`
	IPRanges      list[ipRange]    `json:"ipRanges"`
	IPv6Ranges    list[ipv6Range]  `json:"ipv6Ranges"`
	PrefixListIDs list[prefixList] `json:"prefixListIds"`
	Groups        list[groupPair]  `json:"groups"`
}

type ipRange struct {
	CIDRIP      text `json:"cidrIp"`
	Description text `json:"description"`
}

type ipv6Range struct {
	CIDRIPv6    text `json:"cidrIpv6"`
	Description text `json:"description"`
}

type prefixList struct {
	PrefixListID text `json:"prefixListId"`
	Description  text `json:"description"`
}

type groupPair struct {
	GroupID     text `json:"groupId"`
	GroupName   text `json:"groupName"`
	Description text `json:"description"`
}

// ruleRef is one entry of securityGroupRuleIds: {"securityGroupRuleId": …}
// or a bare string.
type ruleRef struct {
	ID text
}

func (r *ruleRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			ID text `json:"securityGroupRuleId"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			r.ID = text{bad: err.Error()}
			seen(r.ID.bad)
			return nil
		}
		r.ID = v.ID
		return nil
	}
	return r.ID.UnmarshalJSON(b)
}

type ruleDescription struct {
	SecurityGroupRuleID text `json:"securityGroupRuleId"`
	Description         text `json:"description"`
}

type modifyRequest struct {
	GroupID           text                   `json:"GroupId"`
	SecurityGroupRule oneOrMany[modifyEntry] `json:"SecurityGroupRule"`
}

type modifyEntry struct {
	SecurityGroupRuleID text `json:"SecurityGroupRuleId"`
	SecurityGroupRule   struct {
		IPProtocol        text `json:"IpProtocol"`
		FromPort          port `json:"FromPort"`
		ToPort            port `json:"ToPort"`
		CIDRIPv4          text `json:"CidrIpv4"`
		CIDRIPv6          text `json:"CidrIpv6"`
		PrefixListID      text `json:"PrefixListId"`
		ReferencedGroupID text `json:"ReferencedGroupId"`
		Description       text `json:"Description"`
	} `json:"SecurityGroupRule"`
}

// response is responseElements of every security-group call.
type response struct {
	GroupID text          `json:"groupId"`
	RuleSet list[setRule] `json:"securityGroupRuleSet"`
	// A revoke's answer: the rules it removed, and what it named that did
	// not exist (a revoke in a default VPC succeeds even then).
	Revoked list[setRule]    `json:"revokedSecurityGroupRuleSet"`
	Unknown list[permission] `json:"unknownIpPermissionSet"`

	unread bool // responseElements was not an object
}

type setRule struct {
	GroupID             text `json:"groupId"`
	SecurityGroupRuleID text `json:"securityGroupRuleId"`
	IsEgress            flag `json:"isEgress"`
	IPProtocol          text `json:"ipProtocol"`
	FromPort            port `json:"fromPort"`
	ToPort              port `json:"toPort"`
	CIDRIPv4            text `json:"cidrIpv4"`
	CIDRIPv6            text `json:"cidrIpv6"`
	PrefixListID        text `json:"prefixListId"`
	ReferencedGroupInfo struct {
		GroupID text `json:"groupId"`
	} `json:"referencedGroupInfo"`
	Description text `json:"description"`
}
