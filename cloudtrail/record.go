package cloudtrail

import (
	"bytes"
	"encoding/json"
)

// Record is the part of a CloudTrail record sgwatch reads. encoding/json
// matches keys case-insensitively, which absorbs the lower-case
// userIdentity keys and the capitalised ModifySecurityGroupRules keys seen
// in real records.
type Record struct {
	Header
	EventID            Text            `json:"eventID"`
	EventTime          Text            `json:"eventTime"`
	AWSRegion          Text            `json:"awsRegion"`
	RecipientAccountID Text            `json:"recipientAccountId"`
	RequestID          Text            `json:"requestID"`
	SourceIPAddress    Text            `json:"sourceIPAddress"`
	UserAgent          Text            `json:"userAgent"`
	ErrorCode          Text            `json:"errorCode"`
	ErrorMessage       Text            `json:"errorMessage"`
	UserIdentity       Identity        `json:"userIdentity"`
	FromConsole        Flag            `json:"sessionCredentialFromConsole"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`

	// Envelope is what the EventBridge event the record came in says
	// (zero for a record read from a log file or on its own).
	Envelope Envelope `json:"-"`
	// Skip is true for a record the Input's pre-filter ruled out: it was
	// not read, and nothing else is set.
	Skip bool `json:"-"`

	// What the decoder left unread: a part of the record not of its
	// expected type, and the count of values not understood (lenient.go)
	// before the record was decoded.
	typeErr *json.UnmarshalTypeError
	mark    int64
	// unread are the paths of the members left out because they could
	// not be decoded at all (nested too deep).
	unread []string
}

// Header names the call. When a record does not decode whole, the header
// alone decides whether that is an error: a record of another call is never
// rejected for a shape sgwatch does not read.
type Header struct {
	EventName   Text `json:"eventName"`
	EventSource Text `json:"eventSource"`
}

// Envelope carries the fields of an EventBridge event that fill in what a
// CloudTrail record leaves out (redacted records omit region and account).
type Envelope struct {
	Account, Region, Time string
}

// Identity is userIdentity.
type Identity struct {
	Type           Text `json:"type"`
	PrincipalID    Text `json:"principalId"`
	ARN            Text `json:"arn"`
	AccountID      Text `json:"accountId"`
	AccessKeyID    Text `json:"accessKeyId"`
	UserName       Text `json:"userName"`
	InvokedBy      Text `json:"invokedBy"`
	SessionContext struct {
		SessionIssuer struct {
			ARN      Text `json:"arn"`
			UserName Text `json:"userName"`
		} `json:"sessionIssuer"`
		Attributes struct {
			MFAAuthenticated Flag `json:"mfaAuthenticated"`
		} `json:"attributes"`
	} `json:"sessionContext"`
}

// Request is requestParameters of every security-group call.
type Request struct {
	GroupID          Text             `json:"groupId"`
	GroupName        Text             `json:"groupName"`
	GroupDescription Text             `json:"groupDescription"`
	VPCID            Text             `json:"vpcId"`
	IPPermissions    List[Permission] `json:"ipPermissions"`

	// The legacy flat form of Authorize/Revoke (see Legacy).
	IPProtocol                 Text `json:"ipProtocol"`
	FromPort                   Port `json:"fromPort"`
	ToPort                     Port `json:"toPort"`
	CIDRIP                     Text `json:"cidrIp"`
	SourceSecurityGroupName    Text `json:"sourceSecurityGroupName"`
	SourceSecurityGroupOwnerID Text `json:"sourceSecurityGroupOwnerId"`

	SecurityGroupRuleIDs          List[RuleRef]         `json:"securityGroupRuleIds"`
	SecurityGroupRuleDescriptions List[RuleDescription] `json:"securityGroupRuleDescriptions"`

	Modify *ModifyRequest `json:"ModifySecurityGroupRulesRequest"`

	// Unread is true when requestParameters was not an object.
	Unread bool `json:"-"`

	// Newer calls may wrap capitalised parameters in a request object.
	Associate    *VPCRequest `json:"AssociateSecurityGroupVpcRequest"`
	Disassociate *VPCRequest `json:"DisassociateSecurityGroupVpcRequest"`

	// The attach calls: ModifyInstanceAttribute and
	// ModifyNetworkInterfaceAttribute with the groups they set.
	InstanceID         Text            `json:"instanceId"`
	NetworkInterfaceID Text            `json:"networkInterfaceId"`
	GroupSet           List[GroupItem] `json:"groupSet"`

	// CreateTags and DeleteTags: the resources and the tags (a DeleteTags
	// item may have no value).
	ResourcesSet List[ResourceItem] `json:"resourcesSet"`
	TagSet       List[TagItem]      `json:"tagSet"`
	// Tags set by the call that creates the resource (CreateSecurityGroup):
	// both spellings CloudTrail uses.
	TagSpecifications   List[TagSpec] `json:"tagSpecifications"`
	TagSpecificationSet List[TagSpec] `json:"tagSpecificationSet"`

	// The VPC Block Public Access calls, flat (vpcId is VPCID above) or
	// wrapped.
	InternetGatewayBlockMode     Text        `json:"internetGatewayBlockMode"`
	InternetGatewayExclusionMode Text        `json:"internetGatewayExclusionMode"`
	SubnetID                     Text        `json:"subnetId"`
	ModifyBPA                    *BPARequest `json:"ModifyVpcBlockPublicAccessOptionsRequest"`
	CreateBPAExclusion           *BPARequest `json:"CreateVpcBlockPublicAccessExclusionRequest"`

	// The managed prefix list calls, flat (lower-case keys match too) or
	// wrapped like ModifySecurityGroupRules. No public record shows their
	// shape: both are read.
	ListRequest
	CreateList  *ListRequest `json:"CreateManagedPrefixListRequest"`
	ModifyList  *ListRequest `json:"ModifyManagedPrefixListRequest"`
	RestoreList *ListRequest `json:"RestoreManagedPrefixListVersionRequest"`
}

// BPARequest is the wrapped request of a VPC Block Public Access call.
type BPARequest struct {
	InternetGatewayBlockMode     Text `json:"InternetGatewayBlockMode"`
	InternetGatewayExclusionMode Text `json:"InternetGatewayExclusionMode"`
	SubnetID                     Text `json:"SubnetId"`
	VPCID                        Text `json:"VpcId"`
}

// BPA returns the Block Public Access request: the wrapped one's values,
// else the flat ones.
func (r Request) BPA() BPARequest {
	out := BPARequest{InternetGatewayBlockMode: r.InternetGatewayBlockMode, InternetGatewayExclusionMode: r.InternetGatewayExclusionMode,
		SubnetID: r.SubnetID, VPCID: r.VPCID}
	for _, w := range []*BPARequest{r.ModifyBPA, r.CreateBPAExclusion} {
		if w == nil {
			continue
		}
		for _, f := range [][2]*Text{{&out.InternetGatewayBlockMode, &w.InternetGatewayBlockMode}, {&out.InternetGatewayExclusionMode, &w.InternetGatewayExclusionMode},
			{&out.SubnetID, &w.SubnetID}, {&out.VPCID, &w.VPCID}} {
			if f[1].v != "" || f[1].bad != "" {
				*f[0] = *f[1]
			}
		}
	}
	return out
}

// ResourceItem is one item of a resourcesSet.
type ResourceItem struct {
	ResourceID Text `json:"resourceId"`
}

// TagItem is one item of a tagSet.
type TagItem struct {
	Key   Text `json:"key"`
	Value Text `json:"value"`
}

// TagSpec is one item of a tagSpecificationSet: the tags for a type of
// resource the call creates.
type TagSpec struct {
	ResourceType Text          `json:"resourceType"`
	Tags         List[TagItem] `json:"tags"`
}

// GroupItem is one item of a groupSet.
type GroupItem struct {
	GroupID Text `json:"groupId"`
}

// ListRequest is the request of a managed prefix list call.
type ListRequest struct {
	PrefixListID   Text    `json:"PrefixListId"`
	PrefixListName Text    `json:"PrefixListName"`
	Entry          Entries `json:"Entry"`
	AddEntry       Entries `json:"AddEntry"`
	RemoveEntry    Entries `json:"RemoveEntry"`
}

// Entries decodes the entries of a prefix list call in either shape: a
// list ({"items": […]}, […]) or the wrapped form's one entry or many.
type Entries struct {
	OneOrMany[ListEntry]
}

func (e *Entries) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && t[0] == '{' {
		if items, _, ok := members(t, "items"); ok && items != nil {
			var l List[ListEntry]
			_ = l.UnmarshalJSON(t)
			e.items, e.bad = l.items, l.bad
			return nil
		}
	}
	return e.OneOrMany.UnmarshalJSON(b)
}

// ListEntry is one entry a prefix list call adds or removes.
type ListEntry struct {
	CIDR        Text `json:"Cidr"`
	Description Text `json:"Description"`
}

// Lists returns the prefix list requests the record holds: the flat one
// and any wrapped one.
func (r Request) Lists() []ListRequest {
	out := []ListRequest{r.ListRequest}
	for _, w := range []*ListRequest{r.CreateList, r.ModifyList, r.RestoreList} {
		if w != nil {
			out = append(out, *w)
		}
	}
	return out
}

// Legacy returns the permission of the legacy flat form (cidrIp,
// ipProtocol, fromPort, toPort or sourceSecurityGroupName directly in
// requestParameters), if the request is in it.
func (r Request) Legacy() (Permission, bool) {
	if r.CIDRIP.v == "" && r.SourceSecurityGroupName.v == "" && r.CIDRIP.bad == "" {
		return Permission{}, false
	}
	p := Permission{IPProtocol: r.IPProtocol, FromPort: r.FromPort, ToPort: r.ToPort}
	if r.CIDRIP.v != "" || r.CIDRIP.bad != "" {
		p.IPRanges.items = []IPRange{{CIDRIP: r.CIDRIP}}
	}
	if r.SourceSecurityGroupName.v != "" {
		p.Groups.items = []GroupPair{{GroupName: r.SourceSecurityGroupName, UserID: r.SourceSecurityGroupOwnerID}}
	}
	return p, true
}

// VPCRequest is the request of AssociateSecurityGroupVpc and
// DisassociateSecurityGroupVpc.
type VPCRequest struct {
	GroupID Text `json:"GroupId"`
	VPCID   Text `json:"VpcId"`
}

// Permission is one item of ipPermissions (or unknownIpPermissionSet).
type Permission struct {
	IPProtocol    Text                `json:"ipProtocol"`
	FromPort      Port                `json:"fromPort"`
	ToPort        Port                `json:"toPort"`
	IPRanges      List[IPRange]       `json:"ipRanges"`
	IPv6Ranges    List[IPv6Range]     `json:"ipv6Ranges"`
	PrefixListIDs List[PrefixListRef] `json:"prefixListIds"`
	Groups        List[GroupPair]     `json:"groups"`
}

// IPRange is an IPv4 source or destination.
type IPRange struct {
	CIDRIP      Text `json:"cidrIp"`
	Description Text `json:"description"`
}

// IPv6Range is an IPv6 source or destination.
type IPv6Range struct {
	CIDRIPv6    Text `json:"cidrIpv6"`
	Description Text `json:"description"`
}

// PrefixListRef is a managed prefix list as a source or destination.
type PrefixListRef struct {
	PrefixListID Text `json:"prefixListId"`
	Description  Text `json:"description"`
}

// GroupPair is a security group as a source or destination. UserID is
// the account that owns the group, when the caller named it (a group of
// another account, across a VPC peering or in a shared VPC).
type GroupPair struct {
	GroupID     Text `json:"groupId"`
	GroupName   Text `json:"groupName"`
	UserID      Text `json:"userId"`
	Description Text `json:"description"`
}

// RuleRef is one entry of securityGroupRuleIds: {"securityGroupRuleId": …}
// or a bare string.
type RuleRef struct {
	ID Text
}

func (r *RuleRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			ID Text `json:"securityGroupRuleId"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			r.ID = Text{bad: err.Error()}
			seen(r.ID.bad)
			return nil
		}
		r.ID = v.ID
		return nil
	}
	return r.ID.UnmarshalJSON(b)
}

// RuleDescription is one entry of securityGroupRuleDescriptions.
type RuleDescription struct {
	SecurityGroupRuleID Text `json:"securityGroupRuleId"`
	Description         Text `json:"description"`
}

// ModifyRequest is ModifySecurityGroupRules' request.
type ModifyRequest struct {
	GroupID           Text                   `json:"GroupId"`
	SecurityGroupRule OneOrMany[ModifyEntry] `json:"SecurityGroupRule"`
}

// ModifyEntry is one rule ModifySecurityGroupRules changes.
type ModifyEntry struct {
	SecurityGroupRuleID Text `json:"SecurityGroupRuleId"`
	SecurityGroupRule   struct {
		IPProtocol        Text `json:"IpProtocol"`
		FromPort          Port `json:"FromPort"`
		ToPort            Port `json:"ToPort"`
		CIDRIPv4          Text `json:"CidrIpv4"`
		CIDRIPv6          Text `json:"CidrIpv6"`
		PrefixListID      Text `json:"PrefixListId"`
		ReferencedGroupID Text `json:"ReferencedGroupId"`
		Description       Text `json:"Description"`
	} `json:"SecurityGroupRule"`
}

// Response is responseElements of every security-group call.
type Response struct {
	GroupID Text          `json:"groupId"`
	RuleSet List[SetRule] `json:"securityGroupRuleSet"`
	// A revoke's answer: the rules it removed, and what it named that did
	// not exist (a revoke in a default VPC succeeds even then).
	Revoked List[SetRule]    `json:"revokedSecurityGroupRuleSet"`
	Unknown List[Permission] `json:"unknownIpPermissionSet"`

	// Unread is true when responseElements was not an object.
	Unread bool `json:"-"`

	// A Block Public Access exclusion's answer, flat or wrapped.
	Exclusion       *ExclusionResult `json:"vpcBlockPublicAccessExclusion"`
	CreateExclusion *struct {
		Exclusion *ExclusionResult `json:"VpcBlockPublicAccessExclusion"`
	} `json:"CreateVpcBlockPublicAccessExclusionResponse"`

	// A managed prefix list call's answer: the list, flat or wrapped.
	PrefixList  *ListRequest `json:"prefixList"`
	CreateList  *ListResult  `json:"CreateManagedPrefixListResponse"`
	ModifyList  *ListResult  `json:"ModifyManagedPrefixListResponse"`
	RestoreList *ListResult  `json:"RestoreManagedPrefixListVersionResponse"`
}

// ExclusionResult is the exclusion CreateVpcBlockPublicAccessExclusion
// made.
type ExclusionResult struct {
	ExclusionID Text `json:"ExclusionId"`
}

// ExclusionID is the id of the exclusion the response names, or "".
func (r Response) ExclusionID() string {
	if r.Exclusion != nil && r.Exclusion.ExclusionID.v != "" {
		return r.Exclusion.ExclusionID.v
	}
	if r.CreateExclusion != nil && r.CreateExclusion.Exclusion != nil {
		return r.CreateExclusion.Exclusion.ExclusionID.v
	}
	return ""
}

// ListResult wraps the list a prefix list call returns.
type ListResult struct {
	PrefixList *ListRequest `json:"PrefixList"`
}

// Lists returns the prefix lists the response holds.
func (r Response) Lists() []ListRequest {
	var out []ListRequest
	if r.PrefixList != nil {
		out = append(out, *r.PrefixList)
	}
	for _, w := range []*ListResult{r.CreateList, r.ModifyList, r.RestoreList} {
		if w != nil && w.PrefixList != nil {
			out = append(out, *w.PrefixList)
		}
	}
	return out
}

// SetRule is a rule as AWS returns it in a response.
type SetRule struct {
	GroupID             Text `json:"groupId"`
	SecurityGroupRuleID Text `json:"securityGroupRuleId"`
	IsEgress            Flag `json:"isEgress"`
	IPProtocol          Text `json:"ipProtocol"`
	FromPort            Port `json:"fromPort"`
	ToPort              Port `json:"toPort"`
	CIDRIPv4            Text `json:"cidrIpv4"`
	CIDRIPv6            Text `json:"cidrIpv6"`
	PrefixListID        Text `json:"prefixListId"`
	ReferencedGroupInfo struct {
		GroupID Text `json:"groupId"`
		UserID  Text `json:"userId"` // the account that owns the group
	} `json:"referencedGroupInfo"`
	// A revoked rule (RevokedSecurityGroupRule) names its referenced
	// group flat, without its owner.
	ReferencedGroupID Text `json:"referencedGroupId"`
	Description       Text `json:"description"`
}
