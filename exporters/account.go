package exporters

import (
	"fmt"
	"strings"

	"github.com/lyncbackup/lyncbackup/config"
)

// The groups the Lync exports need (the backup cmdlets are not RBAC
// aware): RTCUniversalServerAdmins for all of them,
// CsPersistentChatAdministrator for Persistent Chat.
const (
	GroupServerAdmins = "RTCUniversalServerAdmins"
	GroupChatAdmins   = "CsPersistentChatAdministrator"
)

// TokenGroup is one group of the running account's token.
type TokenGroup struct {
	Name     string // DOMAIN\name as LookupAccountSid gives it
	DenyOnly bool   // filtered by UAC: present but not usable
}

// Account is what the running process's token says.
type Account struct {
	User   string // DOMAIN\user
	Groups []TokenGroup
	// NA says why membership cannot be read here (not Windows).
	NA string
}

// ChatNeed says whether the account needs CsPersistentChatAdministrator.
type ChatNeed int

const (
	// ChatNotNeeded: nothing exports Persistent Chat.
	ChatNotNeeded ChatNeed = iota
	// ChatIfDeployed: lync.exporters: all on a product that has Persistent
	// Chat exports it only where Get-CsService finds a pool.
	ChatIfDeployed
	// ChatNeeded: a persistentchat exporter is configured.
	ChatNeeded
)

// NeedsChatAdmin says whether the config exports Persistent Chat: always
// when an exporter or the lync.exporters list names it; with
// lync.exporters: all only where the product has it (not 2019 or
// Subscription Edition), and there only if it is deployed.
func NeedsChatAdmin(cfg *config.Config) ChatNeed {
	if wantsKind(cfg, "persistentchat", false) {
		return ChatNeeded
	}
	if !wantsKind(cfg, "persistentchat", true) {
		return ChatNotNeeded
	}
	if _, id, err := configModule(cfg); err == nil {
		if p, ok := ProductByID(id); ok && !p.PersistentChat {
			return ChatNotNeeded
		}
	}
	return ChatIfDeployed
}

// AccountChecks says whether acct holds the groups the Lync exports need,
// and whether it is the account the scheduled task runs as (taskUser: the
// task's UserId, "" when no task is installed or it could not be read).
func AccountChecks(acct Account, chat ChatNeed, taskUser string) []Prereq {
	if acct.NA != "" {
		return []Prereq{{Name: "Lync groups", OK: true, Detail: "not applicable: " + acct.NA}}
	}
	var out []Prereq
	want := []string{GroupServerAdmins}
	if chat != ChatNotNeeded {
		want = append(want, GroupChatAdmins)
	}
	for _, g := range want {
		p := Prereq{Name: "group " + g}
		found := false
		for _, tg := range acct.Groups {
			name := tg.Name
			if i := strings.LastIndex(name, `\`); i >= 0 {
				name = name[i+1:]
			}
			if !strings.EqualFold(name, g) {
				continue
			}
			found = true
			if tg.DenyOnly {
				p.Detail = fmt.Sprintf("%s is in %s, but only for deny (UAC filtered the token)", acct.User, tg.Name)
				p.Fix = "run lyncbackup from an elevated prompt (and the task with highest privileges)"
			} else {
				p.OK = true
				p.Detail = fmt.Sprintf("%s is in %s", acct.User, tg.Name)
			}
			break
		}
		if !found {
			p.Detail = fmt.Sprintf("%s is not in %s (its token's groups)", acct.User, g)
			p.Fix = "add the account to " + g + " in Active Directory, then sign in again (a token keeps the groups of its logon)"
			if g == GroupChatAdmins && chat == ChatIfDeployed {
				// Not a failure: without Persistent Chat pools nothing
				// needs the group.
				p.Warn, p.OK = true, true
				p.Detail += "; lync.exporters: all exports Persistent Chat where Get-CsService finds a pool, and that export needs it"
			}
		}
		out = append(out, p)
	}
	switch {
	case taskUser == "":
		out = append(out, Prereq{Name: "task account", OK: true, Detail: "no scheduled task found: install it as this account (schedule install --user " + acct.User + ")"})
	case isSystemAccount(taskUser):
		out = append(out, Prereq{Name: "task account", Warn: true, Detail: "the scheduled task runs as SYSTEM, which reaches the network as the computer account: the Lync exports fail",
			Fix: "schedule install --user DOMAIN\\svc (a member of " + strings.Join(want, " and ") + ")"})
	case !sameAccount(taskUser, acct.User):
		out = append(out, Prereq{Name: "task account", Warn: true, Detail: fmt.Sprintf("this check runs as %s, the scheduled task as %s: the group checks above say nothing about %s", acct.User, taskUser, taskUser),
			Fix: "run the check as the task's account (runas /user:" + taskUser + " \"lyncbackup check\")"})
	default:
		out = append(out, Prereq{Name: "task account", OK: true, Detail: "the scheduled task runs as this account (" + taskUser + ")"})
	}
	return out
}

func isSystemAccount(u string) bool {
	switch strings.ToUpper(strings.TrimSpace(u)) {
	case "", "SYSTEM", `NT AUTHORITY\SYSTEM`, "LOCALSYSTEM", "S-1-5-18":
		return true
	}
	return false
}

// sameAccount compares account names written DOMAIN\user or as a user
// principal name (user@contoso.com); a name without a domain matches any
// domain, and a DNS domain matches its first label (CONTOSO,
// contoso.com).
func sameAccount(a, b string) bool {
	da, ua := splitAccount(a)
	db, ub := splitAccount(b)
	if !strings.EqualFold(ua, ub) {
		return false
	}
	return da == "" || db == "" || strings.EqualFold(da, db) || strings.EqualFold(strings.Split(da, ".")[0], strings.Split(db, ".")[0])
}

// splitAccount returns an account name's domain ("" when it names none)
// and user.
func splitAccount(s string) (domain, user string) {
	s = strings.TrimSpace(s)
	if d, u, ok := strings.Cut(s, `\`); ok {
		return d, u
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return s[i+1:], s[:i]
	}
	return "", s
}
