package accounts

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// BenchmarkNewOrganizations is building the Organizations client from the
// configuration already loaded for SNS: what the first lookup in a
// container adds, since New builds the client then.
func BenchmarkNewOrganizations(b *testing.B) {
	b.Setenv("AWS_REGION", "eu-west-1")
	b.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		NewOrganizations(cfg)
	}
}

// BenchmarkNew is what ACCOUNT_NAMES=true adds to a cold start: names
// whose client is not built yet.
func BenchmarkNew(b *testing.B) {
	cfg := aws.Config{Region: "eu-west-1"}
	b.ReportAllocs()
	for b.Loop() {
		New(func() Organizations { return NewOrganizations(cfg) })
	}
}

// BenchmarkCachedName is a lookup the cache answers: every finding of an
// account after its first in a container.
func BenchmarkCachedName(b *testing.B) {
	n := newFor(&fakeOrgs{names: map[string]string{member: "prod-payments"}})
	ctx := context.Background()
	n.AccountName(ctx, member)
	b.ReportAllocs()
	for b.Loop() {
		n.AccountName(ctx, member)
	}
}
