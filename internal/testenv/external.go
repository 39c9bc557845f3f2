package testenv

// # Servers started outside the test process
//
// The Windows test lane (scripts/wine/lane.sh) runs GOOS=windows test
// binaries under Wine, where the Linux versitygw and azurite-blob cannot be
// started as child processes. The lane starts them once on the Linux side
// with internal/testenv/withservers, which passes them to the tests in the
// environment variables below; VersityGW(t) and Azurite(t) then use those
// servers (still on 127.0.0.1) instead of starting their own, and Stop*
// leaves them alone.

import (
	"fmt"
	"net/url"
	"os"
)

// The variables withservers sets for the tests it runs.
const (
	EnvS3Endpoint = "LYNCBACKUP_TEST_S3_ENDPOINT"   // http://127.0.0.1:PORT
	EnvS3Access   = "LYNCBACKUP_TEST_S3_ACCESS_KEY" //
	EnvS3Secret   = "LYNCBACKUP_TEST_S3_SECRET_KEY" //
	EnvS3DataDir  = "LYNCBACKUP_TEST_S3_DATADIR"    // the posix backend's root
	EnvAzEndpoint = "LYNCBACKUP_TEST_AZURITE_ENDPOINT"
	EnvAzDataDir  = "LYNCBACKUP_TEST_AZURITE_DIR"
)

// loopbackOnly refuses an external server that is not on 127.0.0.1: tests
// never send traffic elsewhere.
func loopbackOnly(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("external test server %q is not on http://127.0.0.1", endpoint)
	}
	return nil
}

// externalVersityGW returns the server named by the environment, or nil.
func externalVersityGW() (*S3Server, error) {
	ep := os.Getenv(EnvS3Endpoint)
	if ep == "" {
		return nil, nil
	}
	if err := loopbackOnly(ep); err != nil {
		return nil, err
	}
	return &S3Server{Endpoint: ep, AccessKey: os.Getenv(EnvS3Access), SecretKey: os.Getenv(EnvS3Secret),
		Region: "us-east-1", DataDir: os.Getenv(EnvS3DataDir)}, nil
}

// externalAzurite returns the server named by the environment, or nil.
func externalAzurite() (*AzureServer, error) {
	ep := os.Getenv(EnvAzEndpoint)
	if ep == "" {
		return nil, nil
	}
	if err := loopbackOnly(ep); err != nil {
		return nil, err
	}
	return &AzureServer{
		Endpoint: ep, Account: AzuriteAccount, Key: AzuriteKey, Dir: os.Getenv(EnvAzDataDir),
		ConnectionString: "DefaultEndpointsProtocol=http;AccountName=" + AzuriteAccount + ";AccountKey=" + AzuriteKey + ";BlobEndpoint=" + ep + ";",
	}, nil
}

// StartForChildren starts VersityGW and Azurite (whichever is installed)
// for test processes this process will start, and returns the variables
// that hand them over. winPath, when not nil, rewrites the servers' data
// folders into the form the children see (Z:\tmp\… under Wine).
func StartForChildren(winPath func(string) string) (env []string, stop func(), err error) {
	if winPath == nil {
		winPath = func(p string) string { return p }
	}
	stop = func() { StopVersityGW(); StopAzurite() }
	s3, skip, err := startVersityGW()
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("versitygw: %w", err)
	}
	if skip != "" {
		fmt.Fprintln(os.Stderr, "withservers:", skip)
	} else {
		env = append(env, EnvS3Endpoint+"="+s3.Endpoint, EnvS3Access+"="+s3.AccessKey, EnvS3Secret+"="+s3.SecretKey, EnvS3DataDir+"="+winPath(s3.DataDir))
	}
	az, skip, err := startAzurite()
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("azurite: %w", err)
	}
	if skip != "" {
		fmt.Fprintln(os.Stderr, "withservers:", skip)
	} else {
		env = append(env, EnvAzEndpoint+"="+az.Endpoint, EnvAzDataDir+"="+winPath(az.Dir))
	}
	return env, stop, nil
}
