package handler

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/sgwatch/sgwatch/report"
)

// BenchmarkHandle is one invocation end to end, less the network: decode,
// score, render, publish to an in-memory SNS, log.
func BenchmarkHandle(b *testing.B) {
	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		b.Fatal(err)
	}
	fake := &fakeSNS{}
	h := New(Config{TopicARN: topic, Format: report.Text}, Deps{SNS: fake, Log: io.Discard})
	b.ReportAllocs()
	for b.Loop() {
		fake.got = fake.got[:0]
		if err := h.Handle(context.Background(), data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdInit is what a cold start does before the first event: read
// the configuration and build the SNS client.
func BenchmarkColdInit(b *testing.B) {
	b.Setenv("AWS_REGION", "eu-west-1")
	b.Setenv("AWS_ACCESS_KEY_ID", "test")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	b.Setenv("SNS_TOPIC_ARN", topic)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ConfigFromEnv(os.Getenv, time.Now()); err != nil {
			b.Fatal(err)
		}
		cfg, err := config.LoadDefaultConfig(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		NewSNS(cfg)
	}
}
