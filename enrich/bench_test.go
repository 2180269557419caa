package enrich

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
)

// BenchmarkNewEC2 is what ENRICH=true adds to a cold start: building the EC2
// client from the configuration already loaded for SNS.
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
