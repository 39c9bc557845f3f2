package azure

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Auth is how the store authenticates. Exactly one of the shapes applies,
// chosen by AuthFromEnv in the conventional order.
type Auth struct {
	// Kind: "connection-string", "shared-key", "sas" or "default"
	// (azidentity.DefaultAzureCredential). It names the source in messages.
	Kind    string
	Account string // account name (connection string / shared key / AZURE_STORAGE_ACCOUNT)
	Key     string // base64 account key (shared key)
	SAS     string // SAS token without the leading '?'
	// Endpoint is the blob service URL a connection string names
	// (BlobEndpoint, or derived from protocol + account + suffix).
	Endpoint string
	// Token, when set, is used instead of DefaultAzureCredential (tests,
	// embedding programs).
	Token azcore.TokenCredential
}

// Azurite's well-known development account (documented by Microsoft; not a secret).
const (
	devAccount  = "devstoreaccount1"
	devKey      = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devEndpoint = "http://127.0.0.1:10000/devstoreaccount1"
)

// AuthFromEnv picks credentials in the order the Azure tools use:
// AZURE_STORAGE_CONNECTION_STRING; AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY;
// AZURE_STORAGE_SAS_TOKEN; else DefaultAzureCredential (environment,
// workload/managed identity, Azure CLI). Errors never quote secret values.
func AuthFromEnv(getenv func(string) string) (Auth, error) {
	account := strings.TrimSpace(getenv("AZURE_STORAGE_ACCOUNT"))
	if cs := strings.TrimSpace(getenv("AZURE_STORAGE_CONNECTION_STRING")); cs != "" {
		a, err := ParseConnectionString(cs)
		if err != nil {
			return Auth{}, fmt.Errorf("AZURE_STORAGE_CONNECTION_STRING: %w", err)
		}
		return a, nil
	}
	if key := strings.TrimSpace(getenv("AZURE_STORAGE_KEY")); key != "" {
		if account == "" {
			return Auth{}, errors.New("AZURE_STORAGE_KEY is set but AZURE_STORAGE_ACCOUNT is not")
		}
		return Auth{Kind: "shared-key", Account: account, Key: key}, nil
	}
	if sas := strings.TrimSpace(getenv("AZURE_STORAGE_SAS_TOKEN")); sas != "" {
		return Auth{Kind: "sas", Account: account, SAS: strings.TrimPrefix(sas, "?")}, nil
	}
	return Auth{Kind: "default", Account: account}, nil
}

// endpointURL is s as an endpoint: an http(s) URL with a host, without user,
// query, fragment or trailing slash; ok is false for anything else.
func endpointURL(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return strings.TrimRight(u.String(), "/"), true
}

// ParseConnectionString reads an Azure Storage connection string
// ("AccountName=..;AccountKey=..;EndpointSuffix=..", "BlobEndpoint=..;SharedAccessSignature=..",
// "UseDevelopmentStorage=true"). Its errors name keys, never values.
func ParseConnectionString(cs string) (Auth, error) {
	kv := map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return Auth{}, errors.New("malformed: expected Key=Value pairs separated by ';'")
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if strings.EqualFold(kv["usedevelopmentstorage"], "true") {
		ep := devEndpoint
		if proxy := kv["developmentstorageproxyuri"]; proxy != "" {
			base, ok := endpointURL(proxy)
			if !ok {
				return Auth{}, errors.New("DevelopmentStorageProxyUri is not an http(s) URL")
			}
			ep = base + "/" + devAccount
		}
		return Auth{Kind: "connection-string", Account: devAccount, Key: devKey, Endpoint: ep}, nil
	}
	a := Auth{Kind: "connection-string", Account: kv["accountname"], Key: kv["accountkey"], SAS: strings.TrimPrefix(kv["sharedaccesssignature"], "?")}
	if a.Key == "" && a.SAS == "" {
		return Auth{}, errors.New("has neither AccountKey nor SharedAccessSignature")
	}
	if a.Key != "" && a.Account == "" {
		return Auth{}, errors.New("has AccountKey but no AccountName")
	}
	if ep := kv["blobendpoint"]; ep != "" {
		var ok bool
		if a.Endpoint, ok = endpointURL(ep); !ok {
			return Auth{}, errors.New("BlobEndpoint is not an http(s) URL")
		}
	} else {
		if a.Account == "" {
			return Auth{}, errors.New("has neither AccountName nor BlobEndpoint")
		}
		proto := strings.ToLower(kv["defaultendpointsprotocol"])
		if proto == "" {
			proto = "https"
		}
		if proto != "http" && proto != "https" {
			return Auth{}, errors.New("DefaultEndpointsProtocol must be http or https")
		}
		suffix := kv["endpointsuffix"]
		if suffix == "" {
			suffix = "core.windows.net"
		}
		a.Endpoint = proto + "://" + a.Account + ".blob." + suffix
	}
	if !validAccount(a.Account) && a.Account != "" {
		return Auth{}, errors.New("AccountName is not a valid storage account name")
	}
	return a, nil
}

var (
	accountRe   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerRe = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
)

func validAccount(s string) bool { return accountRe.MatchString(s) }

// ValidContainer reports whether s is a valid container name (3-63 lowercase
// letters, digits and single hyphens, starting and ending alphanumeric).
func ValidContainer(s string) bool { return len(s) >= 3 && len(s) <= 63 && containerRe.MatchString(s) }

// Location is where a destination URL points.
type Location struct {
	ServiceURL string // e.g. https://acct.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1
	Account    string
	Container  string
	Prefix     string // no leading/trailing slash
	SAS        string // SAS token carried in an https URL's query (a secret)
}

// ResolveLocation turns a destination URL plus config and credentials into
// a Location. Accepted URLs: azblob://container/prefix (account from
// account, then the credentials; service URL from endpoint, then the
// connection string, then https://ACCOUNT.blob.core.windows.net), and
// https://ACCOUNT.blob.<suffix>/container/prefix[?SAS]. endpoint (config
// destination.endpoint) overrides the service URL for Azurite or sovereign
// clouds, e.g. http://127.0.0.1:10000/devstoreaccount1.
func ResolveLocation(raw, account, endpoint string, auth Auth) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, errors.New("destination URL: not a URL")
	}
	var loc Location
	var path string
	switch u.Scheme {
	case "azblob":
		loc.Container = u.Host
		path = u.Path
		if u.RawQuery != "" {
			return Location{}, errors.New("destination URL: azblob:// URLs take no query; put a SAS token in AZURE_STORAGE_SAS_TOKEN")
		}
	case "https", "http":
		host := strings.ToLower(u.Hostname()) // host names have no case; account names are lowercase
		if i := strings.Index(host, ".blob."); i > 0 {
			loc.Account = host[:i]
		}
		loc.ServiceURL = u.Scheme + "://" + strings.ToLower(u.Host)
		p := strings.TrimPrefix(u.Path, "/")
		loc.Container, path, _ = strings.Cut(p, "/")
		loc.SAS = u.RawQuery
	default:
		return Location{}, fmt.Errorf("destination URL: scheme %q is not Azure Blob", u.Scheme)
	}
	if u.User != nil {
		return Location{}, errors.New("destination URL: user info is not allowed (use AZURE_STORAGE_* variables)")
	}
	if loc.Container == "" {
		return Location{}, errors.New("destination URL: no container (azblob://container/prefix)")
	}
	if !ValidContainer(loc.Container) {
		return Location{}, fmt.Errorf("destination URL: %q is not a valid container name (3-63 lowercase letters, digits and single hyphens)", loc.Container)
	}
	loc.Prefix = strings.Trim(path, "/")
	for _, seg := range strings.Split(loc.Prefix, "/") {
		if loc.Prefix != "" && (seg == "" || seg == "." || seg == "..") {
			return Location{}, fmt.Errorf("destination URL: bad prefix %q", loc.Prefix)
		}
	}
	if loc.Account == "" {
		loc.Account = account
	}
	if loc.Account == "" {
		loc.Account = auth.Account
	}
	if account != "" && loc.Account != account {
		return Location{}, fmt.Errorf("destination.account %q does not match the URL's account %q", account, loc.Account)
	}
	if auth.Account != "" && loc.Account != "" && auth.Account != loc.Account && (auth.Key != "" || auth.Kind == "connection-string") {
		return Location{}, fmt.Errorf("the credentials (%s) are for account %q but the destination is account %q", auth.Kind, auth.Account, loc.Account)
	}
	switch {
	case endpoint != "":
		e, err := url.Parse(endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.RawQuery != "" || e.User != nil {
			return Location{}, errors.New("destination.endpoint: must be an http(s) URL without user info or query, e.g. http://127.0.0.1:10000/devstoreaccount1 (credentials go in AZURE_STORAGE_* variables)")
		}
		loc.ServiceURL = strings.TrimRight(e.String(), "/")
	case loc.ServiceURL != "":
	case auth.Endpoint != "":
		loc.ServiceURL = auth.Endpoint
	case loc.Account != "":
		loc.ServiceURL = "https://" + loc.Account + ".blob.core.windows.net"
	default:
		return Location{}, errors.New("no storage account: set destination.account or AZURE_STORAGE_ACCOUNT, or use https://ACCOUNT.blob.core.windows.net/container")
	}
	if loc.Account != "" && !validAccount(loc.Account) {
		return Location{}, fmt.Errorf("%q is not a valid storage account name (3-24 lowercase letters and digits)", loc.Account)
	}
	return loc, nil
}
