package testenv

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

func TestAzuriteStartsOnceOnLoopback(t *testing.T) {
	a := Azurite(t)
	u, err := url.Parse(a.Endpoint)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Path != "/"+AzuriteAccount {
		t.Fatalf("endpoint %q: want http://127.0.0.1:PORT/%s", a.Endpoint, AzuriteAccount)
	}
	if b := Azurite(t); b != a {
		t.Fatal("second call started another server")
	}
	if !strings.Contains(a.ConnectionString, "BlobEndpoint="+a.Endpoint) || !strings.Contains(a.ConnectionString, "AccountKey="+AzuriteKey) {
		t.Fatalf("connection string %q lacks endpoint or key", a.ConnectionString)
	}
}

func TestAzuriteContainer(t *testing.T) {
	a := Azurite(t)
	name := a.Container(t)
	p, err := a.Client(name).GetProperties(context.Background(), nil)
	if err != nil {
		t.Fatalf("container %s not there: %v", name, err)
	}
	if p.ETag == nil {
		t.Fatal("no ETag on the container")
	}
	if other := a.Container(t); other == name {
		t.Fatal("two containers got the same name")
	}
}
