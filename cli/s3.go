//go:build !lambda.norpc

package cli

import "github.com/sgwatch/sgwatch/bucket"

// s3Trees reads s3:// sources. The Lambda build (-tags lambda.norpc) leaves
// the S3 client out: the function never scans.
var s3Trees = bucket.Trees
