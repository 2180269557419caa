package enrich

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// BenchmarkNewEC2 is building the EC2 client from the configuration already
// loaded for SNS: what the first lookup in a container adds, since New
// builds the client then rather than during the cold start.
func BenchmarkNewEC2(b *testing.B) {
	b.Setenv("AWS_REGION", "eu-west-1")
	b.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		NewEC2(cfg)
	}
}

// BenchmarkNew is what ENRICH=true adds to a cold start: an enricher
// whose EC2 client is not built yet.
func BenchmarkNew(b *testing.B) {
	cfg := aws.Config{Region: "eu-west-1"}
	b.ReportAllocs()
	for b.Loop() {
		New(func() EC2 { return NewEC2(cfg) })
	}
}
