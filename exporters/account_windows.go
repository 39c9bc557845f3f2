//go:build windows

package exporters

import "golang.org/x/sys/windows"

// CurrentAccount reads the running process's token: its user and groups.
func CurrentAccount() Account {
	tok := windows.GetCurrentProcessToken()
	var acct Account
	if u, err := tok.GetTokenUser(); err == nil {
		if a, d, _, err := u.User.Sid.LookupAccount(""); err == nil {
			acct.User = d + `\` + a
		} else {
			acct.User = u.User.Sid.String()
		}
	}
	groups, err := tok.GetTokenGroups()
	if err != nil {
		acct.NA = "the token's groups could not be read: " + err.Error()
		return acct
	}
	for _, g := range groups.AllGroups() {
		a, d, _, err := g.Sid.LookupAccount("")
		if err != nil {
			continue // a SID without a name (logon session, capability)
		}
		name := a
		if d != "" {
			name = d + `\` + a
		}
		acct.Groups = append(acct.Groups, TokenGroup{Name: name, DenyOnly: g.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY != 0})
	}
	return acct
}
