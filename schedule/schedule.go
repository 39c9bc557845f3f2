// Package schedule generates what registers a daily lyncbackup run with the
// operating system's scheduler: Windows Task Scheduler XML and the
// schtasks.exe command lines, or a systemd service + timer and a cron line.
// Everything here is a pure function of Task, so it is tested by comparing
// the exact output; cmd/lyncbackup runs the commands.
package schedule

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"

	"github.com/lyncbackup/lyncbackup/internal/shellquote"
	"github.com/lyncbackup/lyncbackup/internal/wintext"
)

// DefaultName is the task / unit name.
const DefaultName = "lyncbackup"

// Task is one daily backup run.
type Task struct {
	// Name of the scheduled task (Windows; may include a folder "\Backup\lyncbackup")
	// or of the systemd units (Linux).
	Name string
	// Exe is the absolute path of the lyncbackup binary.
	Exe string
	// Config is the absolute path of the config file.
	Config string
	// Time is the daily start time, "HH:MM" (24 h, local time).
	Time string
	// User is the account the task runs as. Empty, "SYSTEM" or
	// "NT AUTHORITY\SYSTEM" means LocalSystem (no password).
	User string
	// Args are extra arguments after "backup --config FILE".
	Args []string
}

// unitNameRe: the characters of a systemd unit name (without escapes).
var unitNameRe = regexp.MustCompile(`^[A-Za-z0-9_.@-]+$`)

var timeRe = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)

// Validate checks the task and fills defaults.
func (t *Task) Validate() error {
	if t.Name == "" {
		t.Name = DefaultName
	}
	if strings.ContainsAny(t.Name, `/:*?"<>|`) {
		return fmt.Errorf("task name %q may not contain / : * ? \" < > |", t.Name)
	}
	if t.Time == "" {
		t.Time = "02:30"
	}
	m := timeRe.FindStringSubmatch(t.Time)
	if m == nil {
		return fmt.Errorf("--time %q: use HH:MM (24 h), e.g. 02:30", t.Time)
	}
	hh, _ := strconv.Atoi(m[1])
	t.Time = fmt.Sprintf("%02d:%s", hh, m[2])
	if t.Exe == "" || t.Config == "" {
		return fmt.Errorf("the binary and the config need absolute paths")
	}
	// A crontab entry and a unit file's setting are one line each: a line
	// break in a path made the rest of it an entry (or a setting) of its own.
	// An invisible format character (a bidi override, a line separator)
	// or one that prints as blank space (a Hangul filler) makes the line or
	// the command printed read otherwise than it runs
	// (shellquote.Invisible): the name and the account too are printed, in
	// the schtasks command. The word is named escaped (shellquote.Quote).
	for _, w := range append([]string{t.Name, t.User, t.Exe}, t.CommandArgs()...) {
		switch i, r := shellquote.Hidden(w); {
		case i < 0:
		case unicode.IsControl(r):
			return fmt.Errorf("%s holds a control character (%U), which a crontab line or a unit file's line cannot hold", shellquote.Quote(w), r)
		default:
			return fmt.Errorf("%s holds %s (%U), which makes the command or the line printed read otherwise than it runs", shellquote.Quote(w), shellquote.InvisibleName(r), r)
		}
	}
	return nil
}

// ErrSystemAccount is CheckAccount's refusal.
var ErrSystemAccount = errors.New("the Lync exports need a domain account in RTCUniversalServerAdmins (and CsPersistentChatAdministrator for Persistent Chat) with \"Log on as a batch job\"; SYSTEM reaches the network as the computer account, so every nightly export would fail: give --user DOMAIN\\svc (schtasks asks for its password)")

// CheckAccount refuses LocalSystem for a task whose backup runs the Lync
// cmdlets (lync: the config has Lync exporters).
func (t Task) CheckAccount(lync bool) error {
	if lync && t.IsSystem() {
		return ErrSystemAccount
	}
	return nil
}

// TaskUserID reads the account (Principal/UserId) out of a task's XML as
// schtasks /Query /XML prints it (UTF-16 with a byte-order mark, or UTF-8).
func TaskUserID(b []byte) (string, error) {
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE {
		d, err := DecodeUTF16(b)
		if err != nil {
			return "", err
		}
		b = d
	}
	// encoding/xml refuses a declaration naming UTF-16 for text that is
	// now UTF-8: drop the declaration.
	if i := bytes.Index(b, []byte("?>")); bytes.HasPrefix(bytes.TrimSpace(b), []byte("<?xml")) && i >= 0 {
		b = b[i+2:]
	}
	var x taskXML
	if err := xml.Unmarshal(b, &x); err != nil {
		return "", fmt.Errorf("task XML: %w", err)
	}
	return strings.TrimSpace(x.Principals.Principal.UserID), nil
}

// hourMinute returns the validated time's parts.
func (t Task) hourMinute() (string, string) {
	h, m, _ := strings.Cut(t.Time, ":")
	return h, m
}

func (t Task) name() string {
	if t.Name == "" {
		return DefaultName
	}
	return t.Name
}

// IsSystem reports whether the task runs as LocalSystem.
func (t Task) IsSystem() bool {
	switch strings.ToUpper(strings.TrimSpace(t.User)) {
	case "", "SYSTEM", `NT AUTHORITY\SYSTEM`, "LOCALSYSTEM", "S-1-5-18":
		return true
	}
	return false
}

// CommandArgs are the arguments the scheduler passes to the binary.
func (t Task) CommandArgs() []string {
	return append([]string{"backup", "--config", t.Config}, t.Args...)
}

// ---- Windows ----

// WindowsArgs returns the Windows command line for args, quoted the way
// CommandLineToArgvW and the Go / MSVC runtimes split it back (the rules of
// syscall.EscapeArg, which only exists when building for Windows).
func WindowsArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = windowsQuote(a)
	}
	return strings.Join(q, " ")
}

func windowsQuote(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, " \t\n\v\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			// Double the backslashes before a quote, then escape it.
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	// Backslashes before the closing quote must be doubled.
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}

// taskXML mirrors the Task Scheduler 1.2 schema (the subset we set).
type taskXML struct {
	XMLName          xml.Name `xml:"Task"`
	Version          string   `xml:"version,attr"`
	Xmlns            string   `xml:"xmlns,attr"`
	RegistrationInfo struct {
		Description string `xml:"Description"`
		Author      string `xml:"Author"`
		URI         string `xml:"URI"`
	} `xml:"RegistrationInfo"`
	Triggers struct {
		CalendarTrigger struct {
			StartBoundary string `xml:"StartBoundary"`
			Enabled       bool   `xml:"Enabled"`
			ScheduleByDay struct {
				DaysInterval int `xml:"DaysInterval"`
			} `xml:"ScheduleByDay"`
		} `xml:"CalendarTrigger"`
	} `xml:"Triggers"`
	Principals struct {
		Principal struct {
			ID        string `xml:"id,attr"`
			UserID    string `xml:"UserId"`
			LogonType string `xml:"LogonType"`
			RunLevel  string `xml:"RunLevel"`
		} `xml:"Principal"`
	} `xml:"Principals"`
	Settings struct {
		MultipleInstancesPolicy    string `xml:"MultipleInstancesPolicy"`
		DisallowStartIfOnBatteries bool   `xml:"DisallowStartIfOnBatteries"`
		StopIfGoingOnBatteries     bool   `xml:"StopIfGoingOnBatteries"`
		AllowHardTerminate         bool   `xml:"AllowHardTerminate"`
		StartWhenAvailable         bool   `xml:"StartWhenAvailable"`
		RunOnlyIfNetworkAvailable  bool   `xml:"RunOnlyIfNetworkAvailable"`
		IdleSettings               struct {
			StopOnIdleEnd bool `xml:"StopOnIdleEnd"`
			RestartOnIdle bool `xml:"RestartOnIdle"`
		} `xml:"IdleSettings"`
		AllowStartOnDemand bool   `xml:"AllowStartOnDemand"`
		Enabled            bool   `xml:"Enabled"`
		Hidden             bool   `xml:"Hidden"`
		RunOnlyIfIdle      bool   `xml:"RunOnlyIfIdle"`
		WakeToRun          bool   `xml:"WakeToRun"`
		ExecutionTimeLimit string `xml:"ExecutionTimeLimit"`
		Priority           int    `xml:"Priority"`
	} `xml:"Settings"`
	Actions struct {
		Context string `xml:"Context,attr"`
		Exec    struct {
			Command          string `xml:"Command"`
			Arguments        string `xml:"Arguments"`
			WorkingDirectory string `xml:"WorkingDirectory"`
		} `xml:"Exec"`
	} `xml:"Actions"`
}

// WindowsXML returns the Task Scheduler XML (as UTF-8 text; see
// EncodeUTF16 for what schtasks.exe reads). The task runs daily at
// t.Time, whether the user is logged on or not, with highest privileges;
// a missed run starts when the machine is back; a run never overlaps the
// previous one and is stopped after 23 hours.
func WindowsXML(t Task) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	var x taskXML
	x.Version = "1.2"
	x.Xmlns = "http://schemas.microsoft.com/windows/2004/02/mit/task"
	x.RegistrationInfo.Description = "lyncbackup: daily offsite backup of Lync Server / Skype for Business Server"
	x.RegistrationInfo.Author = "lyncbackup"
	uri := t.Name
	if !strings.HasPrefix(uri, `\`) {
		uri = `\` + uri
	}
	x.RegistrationInfo.URI = uri
	h, m := t.hourMinute()
	// A fixed date in the past: the trigger repeats daily from there.
	x.Triggers.CalendarTrigger.StartBoundary = fmt.Sprintf("2024-01-01T%s:%s:00", h, m)
	x.Triggers.CalendarTrigger.Enabled = true
	x.Triggers.CalendarTrigger.ScheduleByDay.DaysInterval = 1
	p := &x.Principals.Principal
	p.ID = "Author"
	if t.IsSystem() {
		p.UserID = "S-1-5-18"
		p.LogonType = "ServiceAccount"
	} else {
		p.UserID = t.User
		// "Run whether user is logged on or not": the password is stored
		// (schtasks /RP), so the task reaches network shares and SQL.
		p.LogonType = "Password"
	}
	p.RunLevel = "HighestAvailable"
	s := &x.Settings
	s.MultipleInstancesPolicy = "IgnoreNew"
	s.AllowHardTerminate = true
	s.StartWhenAvailable = true
	s.AllowStartOnDemand = true
	s.Enabled = true
	s.ExecutionTimeLimit = "PT23H"
	s.Priority = 7
	x.Actions.Context = "Author"
	// Task Scheduler takes the program path as its own field; quotes are
	// allowed and kept harmless, and they matter when the path has spaces.
	x.Actions.Exec.Command = t.Exe
	if strings.ContainsAny(t.Exe, " \t") {
		x.Actions.Exec.Command = `"` + t.Exe + `"`
	}
	x.Actions.Exec.Arguments = WindowsArgs(t.CommandArgs())
	x.Actions.Exec.WorkingDirectory = winDir(t.Config)
	out, err := xml.MarshalIndent(x, "", "  ")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-16"?>` + "\n")
	b.Write(out)
	b.WriteString("\n")
	return bytes.ReplaceAll(b.Bytes(), []byte("\n"), []byte("\r\n")), nil
}

// winDir is the folder of a Windows path (works on any GOOS).
func winDir(p string) string {
	i := strings.LastIndexAny(p, `\/`)
	if i <= 0 {
		return p
	}
	if i == 2 && p[1] == ':' { // C:\file
		return p[:3]
	}
	return p[:i]
}

// EncodeUTF16 returns the XML as UTF-16LE with a byte-order mark, the
// encoding schtasks.exe /XML expects (and that its declaration names).
func EncodeUTF16(text []byte) []byte {
	u := utf16.Encode([]rune(string(text)))
	out := make([]byte, 2, 2+2*len(u))
	out[0], out[1] = 0xFF, 0xFE
	for _, c := range u {
		out = append(out, byte(c), byte(c>>8))
	}
	return out
}

// DecodeUTF16 reverses EncodeUTF16 (for tests and "show").
func DecodeUTF16(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xFE || len(b)%2 != 0 {
		return nil, fmt.Errorf("not UTF-16LE with a byte-order mark")
	}
	return wintext.UTF16(b[2:], false), nil
}

// SchtasksCreate is the argument vector (program first) that registers the
// task from xmlPath. For an account other than SYSTEM, "/RP *" makes
// schtasks ask for the password on the console (it is never on a command
// line or in a file).
func SchtasksCreate(t Task, xmlPath string) []string {
	args := []string{"schtasks.exe", "/Create", "/TN", t.name(), "/XML", xmlPath, "/F"}
	if !t.IsSystem() {
		args = append(args, "/RU", t.User, "/RP", "*")
	}
	return args
}

// SchtasksQuery shows the registered task as XML.
func SchtasksQuery(t Task) []string {
	return []string{"schtasks.exe", "/Query", "/TN", t.name(), "/XML"}
}

// SchtasksDelete removes the task.
func SchtasksDelete(t Task) []string {
	return []string{"schtasks.exe", "/Delete", "/TN", t.name(), "/F"}
}

// ---- Linux ----

// systemdQuote quotes one word for an Exec= line: double quotes with
// backslash escapes, and "%" doubled (systemd specifiers).
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\;$") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "$", "$$")
	return `"` + r.Replace(s) + `"`
}

// SystemdUnits returns the service and the timer unit files' names and text.
func SystemdUnits(t Task) (serviceName, service, timerName, timer string, err error) {
	if err := t.Validate(); err != nil {
		return "", "", "", "", err
	}
	base := path.Base(strings.ReplaceAll(t.Name, `\`, "/"))
	if !unitNameRe.MatchString(base) {
		// It names the unit files and stands unquoted in the printed
		// systemctl and rm commands: 'Lync Backup' would remove ./Backup.service.
		return "", "", "", "", fmt.Errorf("--name %q: a systemd unit name may hold only letters, digits and _ . - @", base)
	}
	words := []string{systemdQuote(t.Exe)}
	for _, a := range t.CommandArgs() {
		words = append(words, systemdQuote(a))
	}
	var user string
	if !t.IsSystem() {
		user = "User=" + t.User + "\n"
	}
	serviceName, timerName = base+".service", base+".timer"
	service = "[Unit]\n" +
		"Description=lyncbackup daily offsite backup\n" +
		"Wants=network-online.target\n" +
		"After=network-online.target\n\n" +
		"[Service]\n" +
		"Type=oneshot\n" +
		user +
		// As the Windows task's WorkingDirectory: relative paths in the
		// config mean what they meant when it was tried by hand there,
		// not "/" (systemd's default).
		"WorkingDirectory=" + strings.ReplaceAll(path.Dir(t.Config), "%", "%%") + "\n" +
		"ExecStart=" + strings.Join(words, " ") + "\n" +
		"Nice=10\n" +
		"IOSchedulingClass=idle\n"
	h, m := t.hourMinute()
	timer = "[Unit]\n" +
		"Description=Run lyncbackup daily at " + t.Time + "\n\n" +
		"[Timer]\n" +
		"OnCalendar=*-*-* " + h + ":" + m + ":00\n" +
		"Persistent=true\n" +
		"RandomizedDelaySec=0\n\n" +
		"[Install]\n" +
		"WantedBy=timers.target\n"
	return serviceName, service, timerName, timer, nil
}

// CronLine returns a crontab line (user crontab format: no user field).
// Each word is quoted for /bin/sh (shellquote.POSIX); then every "%" of
// the command is escaped, quoted or not: cron turns a bare one into a
// newline before the shell sees the line.
func CronLine(t Task) (string, error) {
	if err := t.Validate(); err != nil {
		return "", err
	}
	h, m := t.hourMinute()
	words := []string{shellquote.POSIX(t.Exe)}
	for _, a := range t.CommandArgs() {
		words = append(words, shellquote.POSIX(a))
	}
	words = append(words, "--quiet")
	// In the config's folder, as the Windows task and the systemd unit
	// run (cron starts in the home folder).
	cmd := strings.ReplaceAll("cd "+shellquote.POSIX(path.Dir(t.Config))+" && "+strings.Join(words, " "), "%", `\%`)
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	return fmt.Sprintf("%d %d * * * %s", mm, hh, cmd), nil
}
