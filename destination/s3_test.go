package destination

import (
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/upload/s3"
)

func TestS3OptionsFromConfig(t *testing.T) {
	d := config.Destination{
		URL: "s3://bkt/lync/?endpoint=http://127.0.0.1:9000&path_style=true&region=eu-west-1", Region: "us-west-2",
		StorageClass: "standard_ia", SSE: "aws:kms", SSEKMSKeyID: "alias/backup", Checksum: "when_required",
		ObjectLock: &config.ObjectLock{Mode: "COMPLIANCE", Days: 30}, PartSize: 32 << 20, Concurrency: 6, Profile: "backup",
	}
	o, err := s3Options(d)
	if err != nil {
		t.Fatal(err)
	}
	want := s3.Options{Bucket: "bkt", Prefix: "lync", Region: "us-west-2", Endpoint: "http://127.0.0.1:9000", PathStyle: true,
		Profile: "backup", StorageClass: "STANDARD_IA", SSE: "aws:kms", SSEKMSKeyID: "alias/backup", Checksum: "when_required",
		LockMode: "COMPLIANCE", PartSize: 32 << 20, Concurrency: 6, MaxAttempts: o.MaxAttempts, StallTimeout: s3.DefaultStallTimeout}
	if o != want {
		t.Fatalf("got  %+v\nwant %+v", o, want)
	}
	for _, bad := range []config.Destination{
		{URL: "s3://bkt/p", StorageClass: "FROZEN"},
		{URL: "s3://bkt/p", PartSize: 1 << 20},
		{URL: "s3:///nobucket"},
		{URL: "s3://bkt/p?token=abc"},
	} {
		if _, err := s3Options(bad); err == nil || !strings.HasPrefix(err.Error(), "destination.") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
