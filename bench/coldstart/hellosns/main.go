// Command hellosns is the reference of the cold-start budget: a minimal
// aws-lambda-go function that loads the SDK configuration and publishes the
// event to SNS. Copied from the shared benchmark kit (hellosns.go.txt) on
// 2026-12-07; bench/coldstart.sh builds it as sam build builds sgwatch.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	c := sns.NewFromConfig(cfg)
	topic := os.Getenv("SNS_TOPIC_ARN")
	lambda.Start(func(ctx context.Context, e json.RawMessage) error {
		_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Subject: aws.String("s"), Message: aws.String(string(e))})
		return err
	})
}
