package exporters

import (
	"runtime"
	"strings"
	"testing"
)

func TestAccountChecks(t *testing.T) {
	admin := Account{User: `CONTOSO\svc-lb`, Groups: []TokenGroup{{Name: `CONTOSO\Domain Users`}, {Name: `CONTOSO\RTCUniversalServerAdmins`}}}
	byName := func(ps []Prereq) map[string]Prereq {
		m := map[string]Prereq{}
		for _, p := range ps {
			m[p.Name] = p
		}
		return m
	}
	cases := []struct {
		name     string
		acct     Account
		chat     ChatNeed
		task     string
		ok, warn []string
		fail     []string
	}{
		{"admin, same task account", admin, ChatNotNeeded, `contoso.com\SVC-LB`, []string{"group RTCUniversalServerAdmins", "task account"}, nil, nil},
		{"chat needed but missing", admin, ChatNeeded, `CONTOSO\svc-lb`, []string{"group RTCUniversalServerAdmins"}, nil, []string{"group CsPersistentChatAdministrator"}},
		{"chat if deployed, missing", admin, ChatIfDeployed, `CONTOSO\svc-lb`, []string{"group RTCUniversalServerAdmins"}, []string{"group CsPersistentChatAdministrator"}, nil},
		{"not a member", Account{User: `CONTOSO\jdoe`, Groups: []TokenGroup{{Name: `CONTOSO\Domain Users`}}}, ChatNotNeeded, "", []string{"task account"}, nil, []string{"group RTCUniversalServerAdmins"}},
		{"UAC deny-only", Account{User: `CONTOSO\adm`, Groups: []TokenGroup{{Name: `CONTOSO\RTCUniversalServerAdmins`, DenyOnly: true}}}, ChatNotNeeded, "", nil, nil, []string{"group RTCUniversalServerAdmins"}},
		{"task as SYSTEM", admin, ChatNotNeeded, "S-1-5-18", []string{"group RTCUniversalServerAdmins"}, []string{"task account"}, nil},
		{"task as another account", admin, ChatNotNeeded, `CONTOSO\other`, []string{"group RTCUniversalServerAdmins"}, []string{"task account"}, nil},
	}
	for _, c := range cases {
		got := byName(AccountChecks(c.acct, c.chat, c.task))
		for _, n := range c.ok {
			if p := got[n]; !p.OK || p.Warn {
				t.Errorf("%s: %s = %+v, want ok", c.name, n, p)
			}
		}
		for _, n := range c.warn {
			if p := got[n]; !p.Warn || p.Fix == "" {
				t.Errorf("%s: %s = %+v, want a warning with a fix", c.name, n, p)
			}
		}
		for _, n := range c.fail {
			if p, found := got[n]; !found || p.OK || p.Warn || p.Fix == "" {
				t.Errorf("%s: %s = %+v, want a failure with a fix", c.name, n, p)
			}
		}
	}
	if p := byName(AccountChecks(admin, ChatNotNeeded, `CONTOSO\other`))["task account"]; !strings.Contains(p.Detail, `this check runs as CONTOSO\svc-lb, the scheduled task as CONTOSO\other`) {
		t.Errorf("detail %q", p.Detail)
	}
	na := AccountChecks(Account{NA: "not Windows"}, ChatNeeded, "")
	if len(na) != 1 || !na[0].OK || na[0].Detail != "not applicable: not Windows" {
		t.Errorf("not applicable: %+v", na)
	}
}

// TestCurrentAccountHere: off Windows the groups cannot be read and the
// check says so; on Windows the token names a user.
func TestCurrentAccountHere(t *testing.T) {
	a := CurrentAccount()
	if runtime.GOOS == "windows" {
		// A user, or the reason the token could not be read (never silence).
		if a.User == "" && a.NA == "" {
			t.Errorf("account %+v", a)
		}
		return
	}
	if !strings.Contains(a.NA, "Windows token") || !strings.Contains(a.NA, runtime.GOOS) {
		t.Errorf("NA %q", a.NA)
	}
}

// TestSameAccount: the task's account and the one running the check are
// the same account however each is written.
func TestSameAccount(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{`CONTOSO\svc-lb`, `CONTOSO\svc-lb`, true},
		{`contoso\SVC-LB`, `CONTOSO\svc-lb`, true},
		{`svc-lb`, `CONTOSO\svc-lb`, true},
		{`CONTOSO\svc-lb`, `svc-lb`, true},
		{`contoso.com\svc-lb`, `CONTOSO\svc-lb`, true},
		{`svc-lb@contoso.com`, `CONTOSO\svc-lb`, true},
		{`CONTOSO\svc-lb`, `svc-lb@contoso.com`, true},
		{` CONTOSO\svc-lb `, `CONTOSO\svc-lb`, true},
		{`FABRIKAM\svc-lb`, `CONTOSO\svc-lb`, false},
		{`svc-lb@fabrikam.com`, `CONTOSO\svc-lb`, false},
		{`CONTOSO\other`, `CONTOSO\svc-lb`, false},
		{`CONTOSO\svc`, `CONTOSO\svc-lb`, false},
		{`other`, `CONTOSO\svc-lb`, false},
	} {
		if got := sameAccount(c.a, c.b); got != c.same {
			t.Errorf("sameAccount(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

// TestNeedsChatAdmin: CsPersistentChatAdministrator is needed for a
// persistentchat named in the config; with lync.exporters: all only on a
// product that has Persistent Chat, and there only if it is deployed
// (before, check failed every SfB 2019 server configured with all).
func TestNeedsChatAdmin(t *testing.T) {
	for _, c := range []struct {
		product, yaml string
		want          ChatNeed
	}{
		{"2019", "lync: {powershell: $PS, exporters: all}\n", ChatNotNeeded},
		{"se", "lync: {powershell: $PS, exporters: all}\n", ChatNotNeeded},
		{"2015", "lync: {powershell: $PS, exporters: all}\n", ChatIfDeployed},
		{"2013", "lync: {powershell: $PS, exporters: all}\n", ChatIfDeployed},
		{"", "lync: {powershell: $PS, exporters: all}\n", ChatIfDeployed},
		{"2015", "lync: {powershell: $PS, exporters: [csconfig, persistentchat]}\n", ChatNeeded},
		{"2015", "exporters: [{kind: persistentchat, instance: 'sql01\\mgc'}]\nlync: {powershell: $PS}\n", ChatNeeded},
		{"2015", "lync: {powershell: $PS, exporters: [csconfig, userdata]}\n", ChatNotNeeded},
		{"2015", "exporters: [{kind: csconfig}]\nlync: {powershell: $PS}\n", ChatNotNeeded},
	} {
		h := newHarness(t, c.product, fixture{})
		if got := NeedsChatAdmin(h.config(c.yaml)); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.product, c.yaml, got, c.want)
		}
	}
}
