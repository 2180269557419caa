package coverage

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sgwatch/sgwatch/sweep"
)

// SessionName is the role session name of every AssumeRole: CloudTrail
// shows the check's calls under it in each account.
const SessionName = "sgwatch-coverage"

// AWS is the Connect of the real command: the caller's credentials, Region
// and endpoints from the SDK's default chain (environment, shared files,
// AWS_ENDPOINT_URL…). It builds no client yet.
func AWS(ctx context.Context, o Options) (Env, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" { // STS needs one; the first checked will do
		cfg.Region = o.Regions[0]
	}
	return &awsEnv{cfg: cfg, role: o.Role, creds: map[string]aws.CredentialsProvider{}}, nil
}

// awsEnv is the Env on AWS.
type awsEnv struct {
	cfg  aws.Config
	role string
	sts  *sts.Client

	// Set by Caller.
	self, partition string

	mu    sync.Mutex
	creds map[string]aws.CredentialsProvider // by account; nil for the caller's own
}

// Caller asks STS who the caller is.
func (e *awsEnv) Caller(ctx context.Context) (string, error) {
	e.sts = sts.NewFromConfig(e.cfg)
	self, partition, err := sweep.Caller(ctx, e.sts)
	if err != nil {
		return "", err
	}
	e.self, e.partition = self, partition
	return e.self, nil
}

// provider returns the credentials for account: nil (the caller's own) for
// the caller's account, else the role's, cached so that each account's role
// is assumed once and renewed when it expires.
func (e *awsEnv) provider(account string) aws.CredentialsProvider {
	if account == e.self {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.creds[account]
	if !ok {
		arn := fmt.Sprintf("arn:%s:iam::%s:role/%s", e.partition, account, e.role)
		p = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(e.sts, arn, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = SessionName
		}))
		e.creds[account] = p
	}
	return p
}

// Login assumes the role in account (once: the provider caches it).
func (e *awsEnv) Login(ctx context.Context, account string) error {
	if account != e.self && e.role == "" {
		return fmt.Errorf("account %s is not the caller's and no role to assume is given", account)
	}
	p := e.provider(account)
	if p == nil {
		return nil
	}
	if _, err := p.Retrieve(ctx); err != nil {
		return fmt.Errorf("assume role %s in account %s: %w", e.role, account, err)
	}
	return nil
}

// config is the configuration for account's clients in region.
func (e *awsEnv) config(account, region string) aws.Config {
	cfg := e.cfg.Copy()
	cfg.Region = region
	if p := e.provider(account); p != nil {
		cfg.Credentials = p
	}
	return cfg
}

func (e *awsEnv) Events(account, region string) Events {
	return eventbridge.NewFromConfig(e.config(account, region))
}

func (e *awsEnv) Trails(account, region string) Trails {
	return cloudtrail.NewFromConfig(e.config(account, region))
}

// StackOutputs reads the stack with cloudformation:DescribeStacks, with the
// caller's credentials, in the Region of its ARN or, given a name, in the
// configured Region (AWS_REGION or the profile's; the first of -regions
// when neither is set).
func (e *awsEnv) StackOutputs(ctx context.Context, stack string) (map[string]string, error) {
	cfg := e.cfg.Copy()
	if a, err := arn.Parse(stack); err == nil {
		cfg.Region = a.Region
	}
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, fmt.Errorf("read the central stack %s in %s (cloudformation:DescribeStacks): %w", stack, cfg.Region, err)
	}
	if len(out.Stacks) != 1 {
		return nil, fmt.Errorf("read the central stack %s in %s: %d stacks in the answer, want 1", stack, cfg.Region, len(out.Stacks))
	}
	s := out.Stacks[0]
	if s.StackStatus == cftypes.StackStatusDeleteComplete {
		return nil, fmt.Errorf("the central stack %s in %s is deleted", stack, cfg.Region)
	}
	outputs := map[string]string{}
	for _, o := range s.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return outputs, nil
}
