package testenv

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopVersityGW()
	StopAzurite()
	os.Exit(code)
}

func TestVersityGWStartsOnceOnLoopback(t *testing.T) {
	a := VersityGW(t)
	b := VersityGW(t)
	if a != b {
		t.Fatal("VersityGW started a second server in the same process")
	}
	if !strings.HasPrefix(a.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q is not on 127.0.0.1", a.Endpoint)
	}
	ctx := context.Background()
	bucket := a.Bucket(t, false)
	c := a.Client()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("x/y"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "x/y" {
		t.Fatalf("listing: %+v", out.Contents)
	}
	if n, err := a.PendingUploads(ctx, bucket, ""); err != nil || n != 0 {
		t.Fatalf("pending uploads: %d %v", n, err)
	}
}

func TestVersityGWObjectLockBucket(t *testing.T) {
	s := VersityGW(t)
	ctx := context.Background()
	bucket := s.Bucket(t, true)
	c := s.Client()
	lc, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if lc.ObjectLockConfiguration == nil || lc.ObjectLockConfiguration.ObjectLockEnabled != s3types.ObjectLockEnabledEnabled {
		t.Fatalf("object lock not enabled: %+v", lc.ObjectLockConfiguration)
	}
	v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != s3types.BucketVersioningStatusEnabled {
		t.Fatalf("object lock bucket is not versioned: %q", v.Status)
	}
}

func TestVersityGWBucketNamesAreValid(t *testing.T) {
	s := VersityGW(t)
	t.Run("Weird_Name/With Spaces & UPPER", func(t *testing.T) {
		b := s.Bucket(t, false)
		if len(b) < 3 || len(b) > 63 || strings.Trim(b, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Fatalf("bucket name %q is not a valid S3 name", b)
		}
	})
}
