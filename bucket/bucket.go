// Package bucket reads CloudTrail log files in Amazon S3 for the scan
// (package scan): it lists a bucket's folders and opens its objects with
// the AWS SDK for Go v2's S3 client, with the default credential chain and
// endpoint settings (AWS_ENDPOINT_URL_S3). Only the command line links it;
// the Lambda function never scans.
package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sgwatch/sgwatch/scan"
)

// API is the part of the S3 client a Tree uses.
type API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Tree is one bucket as a scan.Tree: folders are key prefixes ending in
// "/", the root is "".
type Tree struct {
	API    API
	Bucket string
}

var _ scan.Tree = Tree{}

// List lists the folders and objects directly under the prefix dir, page
// by page, in key order. Objects whose key is the folder itself (folder
// markers) are left out.
func (t Tree) List(ctx context.Context, dir string) (dirs, files []string, err error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(t.Bucket), Prefix: aws.String(dir), Delimiter: aws.String("/")}
	for p := s3.NewListObjectsV2Paginator(t.API, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list s3://%s/%s: %w", t.Bucket, dir, err)
		}
		for _, cp := range out.CommonPrefixes {
			dirs = append(dirs, aws.ToString(cp.Prefix))
		}
		for _, o := range out.Contents {
			if k := aws.ToString(o.Key); k != dir {
				files = append(files, k)
			}
		}
	}
	return dirs, files, nil
}

// Open reads one object.
func (t Tree) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := t.API.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	return out.Body, nil
}

// Name is the object's or folder's s3:// URL.
func (t Tree) Name(p string) string { return "s3://" + t.Bucket + "/" + p }

// Parse splits an s3:// URL into its bucket and the folder or object it
// names: a key whose last part is a log file's name (scan.LogName) is one
// object, anything else a folder (ending in "/"; "" is the
// whole bucket).
func Parse(url string) (bucket, path string, err error) {
	rest, ok := strings.CutPrefix(url, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", url)
	}
	bucket, path, _ = strings.Cut(rest, "/")
	if !bucketName.MatchString(bucket) {
		return "", "", fmt.Errorf("%q: %q is not a bucket name", url, bucket)
	}
	if scan.LogName(path[strings.LastIndexByte(path, '/')+1:]) {
		return bucket, path, nil
	}
	if path != "" && !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return bucket, path, nil
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// Trees opens the bucket of an s3:// URL with the default AWS
// configuration, in the bucket's own Region (found with HeadBucket when it
// differs from the configured one). With an endpoint of its own
// (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL: an S3-compatible server) the
// client uses path-style addresses.
func Trees(ctx context.Context, url string) (scan.Tree, string, error) {
	b, path, err := Parse(url)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	opts := func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
		// Log files delivered before S3 stored checksums have none: the
		// SDK would log a line on stderr for each object read.
		o.DisableLogOutputChecksumValidationSkipped = true
	}
	client := s3.NewFromConfig(cfg, opts)
	if r := bucketRegion(ctx, client, b); r != "" && r != cfg.Region {
		cfg.Region = r
		client = s3.NewFromConfig(cfg, opts)
	}
	return Tree{API: client, Bucket: b}, path, nil
}

// bucketRegion asks S3 where the bucket is: HeadBucket's answer, or the
// x-amz-bucket-region header of its error (a redirect or a denial). ""
// when S3 does not say; the listing then reports the error.
func bucketRegion(ctx context.Context, c *s3.Client, b string) string {
	out, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
	if err == nil {
		return aws.ToString(out.BucketRegion)
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}
