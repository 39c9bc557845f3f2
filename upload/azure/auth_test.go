package azure

import (
	"context"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAuthFromEnvOrder(t *testing.T) {
	cs := "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=a2V5MQ==;EndpointSuffix=core.windows.net"
	all := map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": cs,
		"AZURE_STORAGE_ACCOUNT":           "acct2",
		"AZURE_STORAGE_KEY":               "a2V5Mg==",
		"AZURE_STORAGE_SAS_TOKEN":         "?sv=2022&sig=abc",
	}
	a, err := AuthFromEnv(envOf(all))
	if err != nil || a.Kind != "connection-string" || a.Account != "acct1" || a.Key != "a2V5MQ==" || a.Endpoint != "https://acct1.blob.core.windows.net" {
		t.Fatalf("connection string first: %+v %v", a, err)
	}
	delete(all, "AZURE_STORAGE_CONNECTION_STRING")
	if a, err = AuthFromEnv(envOf(all)); err != nil || a.Kind != "shared-key" || a.Account != "acct2" || a.Key != "a2V5Mg==" {
		t.Fatalf("shared key second: %+v %v", a, err)
	}
	delete(all, "AZURE_STORAGE_KEY")
	if a, err = AuthFromEnv(envOf(all)); err != nil || a.Kind != "sas" || a.SAS != "sv=2022&sig=abc" || a.Account != "acct2" {
		t.Fatalf("SAS third: %+v %v", a, err)
	}
	delete(all, "AZURE_STORAGE_SAS_TOKEN")
	if a, err = AuthFromEnv(envOf(all)); err != nil || a.Kind != "default" || a.Account != "acct2" {
		t.Fatalf("default credential last: %+v %v", a, err)
	}
	if _, err = AuthFromEnv(envOf(map[string]string{"AZURE_STORAGE_KEY": "secretkey=="})); err == nil || strings.Contains(err.Error(), "secretkey") {
		t.Fatalf("key without account: %v", err)
	}
	_, err = AuthFromEnv(envOf(map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "AccountName=x;AccountKey"}))
	if err == nil || !strings.Contains(err.Error(), "AZURE_STORAGE_CONNECTION_STRING") {
		t.Fatalf("bad connection string: %v", err)
	}
}

func TestParseConnectionString(t *testing.T) {
	for _, c := range []struct{ in, account, key, sas, endpoint, err string }{
		{in: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;",
			account: "devstoreaccount1", key: "k==", endpoint: "http://127.0.0.1:10000/devstoreaccount1"},
		{in: "AccountName=acct;AccountKey=abc=;EndpointSuffix=core.chinacloudapi.cn",
			account: "acct", key: "abc=", endpoint: "https://acct.blob.core.chinacloudapi.cn"},
		{in: "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2022-11-02&sig=xyz%3D",
			sas: "sv=2022-11-02&sig=xyz%3D", endpoint: "https://acct.blob.core.windows.net"},
		{in: "UseDevelopmentStorage=true", account: devAccount, key: devKey, endpoint: devEndpoint},
		{in: "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://127.0.0.1:8080/", account: devAccount, key: devKey,
			endpoint: "http://127.0.0.1:8080/" + devAccount},
		// Found by FuzzParseConnectionString: the proxy was taken as it came.
		{in: "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=0", err: "DevelopmentStorageProxyUri is not an http(s) URL"},
		{in: "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=ftp://h", err: "DevelopmentStorageProxyUri"},
		{in: "AccountName=acct", err: "neither AccountKey nor SharedAccessSignature"},
		{in: "AccountKey=abc", err: "no AccountName"},
		{in: "SharedAccessSignature=sig=1", err: "neither AccountName nor BlobEndpoint"},
		{in: "garbage", err: "malformed"},
		{in: "AccountName=a;AccountKey=topsecret;BlobEndpoint=ftp://x", err: "BlobEndpoint"},
		{in: "AccountName=UPPER;AccountKey=topsecret", err: "not a valid storage account"},
	} {
		a, err := ParseConnectionString(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "topsecret") {
				t.Errorf("%q: error leaks the key", c.in)
			}
			continue
		}
		if err != nil || a.Account != c.account || a.Key != c.key || a.SAS != c.sas || a.Endpoint != c.endpoint {
			t.Errorf("%q: %+v %v", c.in, a, err)
		}
	}
}

func FuzzParseConnectionString(f *testing.F) {
	f.Add("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;")
	f.Add("UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://127.0.0.1")
	f.Add("BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=?sv=1&sig=2")
	f.Add("AccountName=abc;AccountKey=;;;=")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseConnectionString(s)
		if err != nil {
			// Errors name keys, never values: no part of a value after '=' may show up.
			for _, part := range strings.Split(s, ";") {
				if _, v, ok := strings.Cut(part, "="); ok && len(strings.TrimSpace(v)) >= 12 && strings.Contains(err.Error(), strings.TrimSpace(v)) {
					t.Fatalf("error %q quotes a value", err)
				}
			}
			return
		}
		if a.Endpoint == "" || (a.Key == "" && a.SAS == "") {
			t.Fatalf("accepted without endpoint or secret: %+v", a)
		}
		if !strings.HasPrefix(a.Endpoint, "http://") && !strings.HasPrefix(a.Endpoint, "https://") {
			t.Fatalf("endpoint %q", a.Endpoint)
		}
	})
}

func TestResolveLocation(t *testing.T) {
	key := Auth{Kind: "shared-key", Account: "acct", Key: "k"}
	cs, _ := ParseConnectionString("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1")
	for _, c := range []struct {
		url, account, endpoint string
		auth                   Auth
		want                   Location
		err                    string
	}{
		{url: "azblob://backups/lync/fe01", auth: key,
			want: Location{ServiceURL: "https://acct.blob.core.windows.net", Account: "acct", Container: "backups", Prefix: "lync/fe01"}},
		{url: "azblob://backups", account: "other", auth: Auth{Kind: "default"},
			want: Location{ServiceURL: "https://other.blob.core.windows.net", Account: "other", Container: "backups"}},
		{url: "azblob://backups/p/", endpoint: "http://127.0.0.1:10000/devstoreaccount1/", auth: cs,
			want: Location{ServiceURL: "http://127.0.0.1:10000/devstoreaccount1", Account: "devstoreaccount1", Container: "backups", Prefix: "p"}},
		{url: "azblob://backups/p", auth: cs,
			want: Location{ServiceURL: "http://127.0.0.1:10000/devstoreaccount1", Account: "devstoreaccount1", Container: "backups", Prefix: "p"}},
		{url: "https://acct.blob.core.usgovcloudapi.net/backups/x/y?sv=1&sig=s3cr3t", auth: Auth{Kind: "default"},
			want: Location{ServiceURL: "https://acct.blob.core.usgovcloudapi.net", Account: "acct", Container: "backups", Prefix: "x/y", SAS: "sv=1&sig=s3cr3t"}},
		{url: "azblob://backups", auth: Auth{Kind: "default"}, err: "no storage account"},
		{url: "azblob://Bad_Name/x", auth: key, err: "not a valid container name"},
		{url: "azblob://backups/a/../b", auth: key, err: "bad prefix"},
		{url: "azblob://backups?sig=x", auth: key, err: "take no query"},
		{url: "https://acct.blob.core.windows.net/", auth: key, err: "no container"},
		{url: "https://acct.blob.core.windows.net/c1c/x", account: "other", auth: Auth{Kind: "default"}, err: "does not match"},
		{url: "https://acct.blob.core.windows.net/c1c/x", auth: cs, err: "credentials (connection-string) are for account \"devstoreaccount1\""},
		{url: "azblob://backups", endpoint: "ftp://x", auth: key, err: "destination.endpoint"},
		// A password in the endpoint would be kept and shown (Store.String).
		{url: "azblob://backups", endpoint: "https://admin:s3cr3t@proxy.example/acct", auth: key, err: "without user info"},
		// Three characters with a hyphen is a valid container name.
		{url: "azblob://a-b/p", auth: key,
			want: Location{ServiceURL: "https://acct.blob.core.windows.net", Account: "acct", Container: "a-b", Prefix: "p"}},
		{url: "azblob://a--b/p", auth: key, err: "not a valid container name"},
		{url: "azblob://ab-/p", auth: key, err: "not a valid container name"},
		{url: "azblob://-ab/p", auth: key, err: "not a valid container name"},
		{url: "azblob://ab/p", auth: key, err: "not a valid container name"},
		{url: "azblob://" + strings.Repeat("a", 64) + "/p", auth: key, err: "not a valid container name"},
		// A host name has no case; the account name is lowercase.
		{url: "https://Acct.Blob.Core.Windows.Net/backups", auth: Auth{Kind: "default"},
			want: Location{ServiceURL: "https://acct.blob.core.windows.net", Account: "acct", Container: "backups"}},
	} {
		got, err := ResolveLocation(c.url, c.account, c.endpoint, c.auth)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.url, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("%s: error leaks the SAS", c.url)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.url, got, err, c.want)
		}
	}
}

func TestBlockIDsFixedLength(t *testing.T) {
	if len(blockID("abcdefabcdef", 0)) != len(blockID("0123456789ab", MaxBlocks-1)) {
		t.Fatal("block ids differ in length")
	}
	if blockID("abcdefabcdef", 1) == blockID("abcdefabcdef", 2) {
		t.Fatal("block ids collide")
	}
}

// An auth failure names where the SAS came from: the variable to fix.
func TestAuthFailureNamesTheSASSource(t *testing.T) {
	az := testenv.Azurite(t)
	name := az.Container(t)
	for _, c := range []struct {
		auth Auth
		want string
	}{
		{Auth{Kind: "connection-string", Account: az.Account, SAS: "sv=2023-11-03&ss=b&srt=sco&sp=rwdlac&se=2040-01-01T00:00:00Z&sig=AAAAbadbadbad%3D"}, "credentials from SharedAccessSignature in AZURE_STORAGE_CONNECTION_STRING"},
		{Auth{Kind: "sas", Account: az.Account, SAS: "sv=2023-11-03&ss=b&srt=sco&sp=rwdlac&se=2040-01-01T00:00:00Z&sig=AAAAbadbadbad%3D"}, "credentials from AZURE_STORAGE_SAS_TOKEN"},
	} {
		st, err := Open(context.Background(), Options{Location: Location{ServiceURL: az.Endpoint, Account: az.Account, Container: name}, Auth: c.auth, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Put(context.Background(), "x", strings.NewReader("x"), upload.PutOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "AAAAbadbadbad") {
			t.Errorf("%s: %v, want %q", c.auth.Kind, err, c.want)
		}
	}
}
