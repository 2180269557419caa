package awsid

import "strings"

// Partition is one of AWS's partitions: a group of Regions with its own
// accounts, endpoints and console.
type Partition struct {
	// ID is the partition in an ARN: aws, aws-cn, aws-us-gov…
	ID string
	// Prefix starts the names of its Regions ("" for aws, which has the
	// rest).
	Prefix string
	// DNSSuffix ends its service endpoints: ec2.REGION.DNSSUFFIX.
	DNSSuffix string
	// console is its console's host name, REGION standing for the Region;
	// "" where sgwatch does not know a public console host (no link is
	// made there).
	console string
	// Supported says whether sgwatch is built and tested for it: its
	// template's resources and features are available there. sgwatch still
	// reads records from the others, and names them correctly in ARNs.
	Supported bool
}

// partitions are AWS's partitions, from the AWS SDK for Go v2's endpoint
// rules (internal/endpoints/awsrulesfn/partitions.json, v1.48.0: id,
// regionRegex and dnsSuffix) and AWS's console addresses. The most
// specific prefix comes first; aws, last, has every other Region.
var partitions = []Partition{
	{ID: "aws-us-gov", Prefix: "us-gov-", DNSSuffix: "amazonaws.com", console: "console.amazonaws-us-gov.com", Supported: true},
	{ID: "aws-iso-b", Prefix: "us-isob-", DNSSuffix: "sc2s.sgov.gov"},
	{ID: "aws-iso-f", Prefix: "us-isof-", DNSSuffix: "csp.hci.ic.gov"},
	{ID: "aws-iso", Prefix: "us-iso-", DNSSuffix: "c2s.ic.gov"},
	{ID: "aws-iso-e", Prefix: "eu-isoe-", DNSSuffix: "cloud.adc-e.uk"},
	{ID: "aws-eusc", Prefix: "eusc-", DNSSuffix: "amazonaws.eu"},
	{ID: "aws-cn", Prefix: "cn-", DNSSuffix: "amazonaws.com.cn", console: "REGION.console.amazonaws.cn", Supported: true},
	{ID: "aws", DNSSuffix: "amazonaws.com", console: "REGION.console.aws.amazon.com", Supported: true},
}

// PartitionOf returns the partition of a Region (any string: one that is
// not a Region is taken to be in aws).
func PartitionOf(region string) Partition {
	for _, p := range partitions {
		if strings.HasPrefix(region, p.Prefix) {
			return p
		}
	}
	return partitions[len(partitions)-1]
}

// ConsoleHost is the host of the partition's console for a Region, or ""
// when region is not a Region or sgwatch knows no public console there.
func ConsoleHost(region string) string {
	if !IsRegion(region) {
		return ""
	}
	return strings.ReplaceAll(PartitionOf(region).console, "REGION", region)
}

// GroupARN is the ARN of a security group, or "" unless the id, account
// and Region are valid.
func GroupARN(region, account, group string) string {
	if !IsGroupID(group) || !IsAccountID(account) || !IsRegion(region) {
		return ""
	}
	return "arn:" + PartitionOf(region).ID + ":ec2:" + region + ":" + account + ":security-group/" + group
}

// RoleARN is the ARN of the IAM role name in account, in partition.
func RoleARN(partition, account, name string) string {
	return "arn:" + partition + ":iam::" + account + ":role/" + name
}
