package detect

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sgwatch/sgwatch/cloudtrail"
)

// TestMayBeCall: the pre-filter lets through every security-group call
// (should match) and keeps out other calls (should not match).
func TestMayBeCall(t *testing.T) {
	match := []string{}
	for _, c := range append(Calls(), TagCalls()...) {
		params := ""
		if call, _ := Lookup(c); call.LiveOnly() {
			params = `,"requestParameters":{"groupSet":{"items":[{"groupId":"sg-1"}]}}`
		} else if call.Effect == ChangesTags {
			params = `,"requestParameters":{"resourcesSet":{"items":[{"resourceId":"sg-1"}]},"tagSet":{"items":[{"key":"sgwatch:public"}]}}`
		}
		match = append(match, `{"eventSource":"ec2.amazonaws.com","eventName":"`+c+`"`+params+`}`)
	}
	match = append(match,
		`{"eventName":"Authorize\u0053ecurityGroupIngress"}`, // an escape that spells a name
		`{"eventName":"\u0041uthorizeSecurityGroupIngress"}`,
		`{"eventName":"Authorize\u0073ecurityGroupIngress"}`, // a lower-case letter: still decoded
		`{"x":"\u0078"}`,
		`{"eventName" : "RevokeSecurityGroupEgress" }`,
		`{"eventName":"ModifyInstanceAttribute","requestParameters":{"GROUPSET":{"items":[{"groupId":"sg-1"}]}}}`, // the decoder matches keys in any case
		`{"eventName":"ModifyNetworkInterfaceAttribute","requestParameters":{"grOupsEt":[]}}`,
		// A colon written as an escape: the decoder reads the key.
		`{"eventName":"CreateTags","requestParameters":{"tagSet":{"items":[{"key":"sgwatch\u003apublic"}]}}}`,
		// An attach call and a tag call in one value: each needs its own.
		`[{"eventName":"ModifyInstanceAttribute","requestParameters":{"groupSet":{}}},{"eventName":"CreateTags","requestParameters":{"tagSet":{"items":[{"key":"SGWATCH:x"}]}}}]`,
	)
	for _, m := range match {
		if !MayBeCall([]byte(m)) {
			t.Errorf("MayBeCall(%s) = false, want true", m)
		}
	}
	for _, m := range []string{
		`{"eventSource":"ec2.amazonaws.com","eventName":"DescribeSecurityGroups"}`,
		`{"eventSource":"ec2.amazonaws.com","eventName":"DescribeSecurityGroupRules"}`,
		`{"eventSource":"rds.amazonaws.com","eventName":"AuthorizeDBSecurityGroupIngress"}`,
		`{"eventName":"PutRolePolicy","requestParameters":{"policyDocument":"ec2:AuthorizeSecurityGroupIngressX"}}`,
		`{"eventName":"RunInstances","requestParameters":{"groupSet":{"items":[{"groupId":"sg-1"}]}}}`,
		`{"eventName":"CreateSecurityGroupX"}`,
		`{"eventName":"ModifyInstanceAttribute","requestParameters":{"instanceId":"i-1","disableApiTermination":{"value":true}}}`, // another attribute
		`{"eventName":"ModifyNetworkInterfaceAttribute","requestParameters":{"sourceDestCheck":{"value":false}}}`,
		`{"eventName":"DescribeInstances","requestParameters":{"filterSet":["ModifyInstanceAttribute","ModifyInstanceAttribute"]}}`,
		`{"eventName":"RunInstances","requestParameters":{"userData":"a \u0026\u0026 b \u003c c \u00e9 \u2028"}}`, // escapes of no letter
		`{"x":"\u00"}`,
		`{"requestParameters":{"policy":"\"ModifySecurityGroupRules\""}}`,                                                                                    // inside a string, not a string
		`{"eventName":"CreateTags","requestParameters":{"resourcesSet":{"items":[{"resourceId":"i-1"}]},"tagSet":{"items":[{"key":"Name","value":"web"}]}}}`, // not sgwatch's tag
		`{"eventName":"DeleteTags","requestParameters":{"tagSet":{"items":[{"key":"team"}]}}}`,
		`{"eventName":"DescribeTags"}`,
	} {
		if MayBeCall([]byte(m)) {
			t.Errorf("MayBeCall(%s) = true, want false", m)
		}
	}
	// Every sample and public record with a finding passes; the others
	// count as should-not-match when they have no escape.
	files, _ := filepath.Glob(filepath.Join("..", "events", "*.json"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "cloudtrail", "*", "*.json"))
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := parse(data)
		if len(fs) > 0 && !MayBeCall(data) {
			t.Errorf("%s: has a finding but MayBeCall is false", f)
		}
	}
}

// TestParseSplitsLikeTheDecoder: each sample's record gives the same
// findings alone, as a log file's record, and in one log of them all.
func TestParseSplitsLikeTheDecoder(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "events", "*.json"))
	var log bytes.Buffer
	log.WriteString(`{"Records":[`)
	findings := 0
	for i, f := range files {
		data, _ := os.ReadFile(f)
		fs, err := parse(data)
		if err != nil {
			t.Fatal(err)
		}
		findings += len(fs)
		if i > 0 {
			log.WriteString(",\n")
		}
		detail := data[bytes.Index(data, []byte(`"detail"`))+len(`"detail"`):]
		detail = bytes.TrimLeft(detail, " :\n\t")
		it, err := cloudtrail.NewReader(bytes.NewReader(detail)).Next()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		log.Write(it.Raw)
		alone, err := parse(it.Raw)
		if err != nil || len(alone) != len(fs) {
			t.Errorf("%s: the detail alone gives %d findings (%v), the event %d", f, len(alone), err, len(fs))
		}
	}
	log.WriteString("]}")
	whole, err := parse(log.Bytes())
	if err != nil || len(whole) != findings {
		t.Fatalf("log of %d samples: %d findings, %v; want %d", len(files), len(whole), err, findings)
	}
}
