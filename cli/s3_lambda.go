//go:build lambda.norpc

package cli

import "github.com/sgwatch/sgwatch/scan"

// s3Trees is nil in the Lambda build: s3:// sources are an error there
// (see s3.go).
var s3Trees scan.Trees
