package schedule

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	goldens.Use(p)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./schedule -update once)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var winSystem = Task{
	Exe:    `C:\Program Files\lyncbackup\lyncbackup.exe`,
	Config: `C:\ProgramData\lync backup\lyncbackup.yaml`,
	Time:   "2:30",
}

var winUser = Task{
	Name:   `\Backup\lyncbackup nightly`,
	Exe:    `D:\Tools\lyncbackup.exe`,
	Config: `D:\Tools\conf\lb.yaml`,
	Time:   "23:05",
	User:   `CONTOSO\svc-lyncbackup`,
	Args:   []string{"--log-file", `D:\Logs\say "hi"\`, "--json"},
}

// parseTask parses the XML text (declared UTF-16, given here as UTF-8).
func parseTask(t *testing.T, text []byte) taskXML {
	t.Helper()
	var x taskXML
	dec := xml.NewDecoder(bytes.NewReader(text))
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if !strings.EqualFold(label, "UTF-16") {
			t.Fatalf("declared encoding %q, want UTF-16", label)
		}
		return r, nil
	}
	if err := dec.Decode(&x); err != nil {
		t.Fatalf("task XML does not parse: %v\n%s", err, text)
	}
	return x
}

func TestWindowsSystemTask(t *testing.T) {
	text, err := WindowsXML(winSystem)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "windows-system.xml", text)
	x := parseTask(t, text)
	if x.Xmlns != "http://schemas.microsoft.com/windows/2004/02/mit/task" || x.Version != "1.2" {
		t.Errorf("namespace/version: %q %q", x.Xmlns, x.Version)
	}
	p := x.Principals.Principal
	if p.UserID != "S-1-5-18" || p.LogonType != "ServiceAccount" || p.RunLevel != "HighestAvailable" {
		t.Errorf("principal: %+v", p)
	}
	if got := x.Triggers.CalendarTrigger.StartBoundary; got != "2024-01-01T02:30:00" {
		t.Errorf("StartBoundary %q", got)
	}
	if x.Triggers.CalendarTrigger.ScheduleByDay.DaysInterval != 1 {
		t.Error("not daily")
	}
	e := x.Actions.Exec
	if e.Command != `"C:\Program Files\lyncbackup\lyncbackup.exe"` {
		t.Errorf("Command %q", e.Command)
	}
	if e.Arguments != `backup --config "C:\ProgramData\lync backup\lyncbackup.yaml"` {
		t.Errorf("Arguments %q", e.Arguments)
	}
	if e.WorkingDirectory != `C:\ProgramData\lync backup` {
		t.Errorf("WorkingDirectory %q", e.WorkingDirectory)
	}
	cmd := strings.Join(SchtasksCreate(winSystem, `C:\Temp\lb task.xml`), "|")
	if cmd != `schtasks.exe|/Create|/TN|lyncbackup|/XML|C:\Temp\lb task.xml|/F` {
		t.Errorf("create command %q", cmd)
	}
	if WindowsArgs(SchtasksCreate(winSystem, `C:\Temp\lb task.xml`)) != `schtasks.exe /Create /TN lyncbackup /XML "C:\Temp\lb task.xml" /F` {
		t.Errorf("create command line %q", WindowsArgs(SchtasksCreate(winSystem, `C:\Temp\lb task.xml`)))
	}
}

func TestWindowsUserTask(t *testing.T) {
	text, err := WindowsXML(winUser)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "windows-user.xml", text)
	x := parseTask(t, text)
	p := x.Principals.Principal
	if p.UserID != `CONTOSO\svc-lyncbackup` || p.LogonType != "Password" || p.RunLevel != "HighestAvailable" {
		t.Errorf("principal: %+v", p)
	}
	if x.RegistrationInfo.URI != `\Backup\lyncbackup nightly` {
		t.Errorf("URI %q", x.RegistrationInfo.URI)
	}
	// The arguments split back exactly as given.
	got := splitWindows(x.Actions.Exec.Arguments)
	want := winUser.CommandArgs()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("arguments %q split back to %q, want %q", x.Actions.Exec.Arguments, got, want)
	}
	cmd := SchtasksCreate(winUser, `C:\Temp\t.xml`)
	if strings.Join(cmd, "|") != `schtasks.exe|/Create|/TN|\Backup\lyncbackup nightly|/XML|C:\Temp\t.xml|/F|/RU|CONTOSO\svc-lyncbackup|/RP|*` {
		t.Errorf("create %q", cmd)
	}
	if strings.Join(SchtasksDelete(winUser), "|") != `schtasks.exe|/Delete|/TN|\Backup\lyncbackup nightly|/F` {
		t.Errorf("delete %q", SchtasksDelete(winUser))
	}
	if strings.Join(SchtasksQuery(winUser), "|") != `schtasks.exe|/Query|/TN|\Backup\lyncbackup nightly|/XML` {
		t.Errorf("query %q", SchtasksQuery(winUser))
	}
}

func TestUTF16RoundTrip(t *testing.T) {
	text, _ := WindowsXML(winSystem)
	enc := EncodeUTF16(text)
	if enc[0] != 0xFF || enc[1] != 0xFE || enc[2] != '<' || enc[3] != 0 {
		t.Fatalf("not UTF-16LE with BOM: % x", enc[:8])
	}
	dec, err := DecodeUTF16(enc)
	if err != nil || !bytes.Equal(dec, text) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, bad := range []string{"24:00", "2:3", "7", "02:60", "noon"} {
		tk := winSystem
		tk.Time = bad
		if _, err := WindowsXML(tk); err == nil {
			t.Errorf("time %q accepted", bad)
		}
	}
	tk := winSystem
	tk.Name = "a/b"
	if _, err := WindowsXML(tk); err == nil {
		t.Error("name with / accepted")
	}
}

var linuxTask = Task{
	Exe:    "/opt/lync backup/lyncbackup",
	Config: "/etc/lyncbackup/100%.yaml",
	Time:   "02:07",
	User:   "backup",
}

func TestSystemdAndCron(t *testing.T) {
	sn, svc, tn, tmr, err := SystemdUnits(linuxTask)
	if err != nil {
		t.Fatal(err)
	}
	if sn != "lyncbackup.service" || tn != "lyncbackup.timer" {
		t.Errorf("unit names %q %q", sn, tn)
	}
	golden(t, "lyncbackup.service", []byte(svc))
	golden(t, "lyncbackup.timer", []byte(tmr))
	if !strings.Contains(svc, `ExecStart="/opt/lync backup/lyncbackup" backup --config /etc/lyncbackup/100%%.yaml`+"\n") {
		t.Errorf("ExecStart quoting:\n%s", svc)
	}
	if !strings.Contains(tmr, "OnCalendar=*-*-* 02:07:00\n") || !strings.Contains(tmr, "Persistent=true") {
		t.Errorf("timer:\n%s", tmr)
	}
	cron, err := CronLine(linuxTask)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "crontab.txt", []byte(cron+"\n"))
	// Both run in the config's folder, as the Windows task does: relative
	// paths in the config mean there what they meant when tried by hand.
	if !strings.Contains(svc, "WorkingDirectory=/etc/lyncbackup\n") {
		t.Errorf("service without the config's folder:\n%s", svc)
	}
	if cron != `7 2 * * * cd /etc/lyncbackup && '/opt/lync backup/lyncbackup' backup --config /etc/lyncbackup/100\%.yaml --quiet` {
		t.Errorf("cron %q", cron)
	}
}

// TestScheduleControlCharacter: a crontab entry is one line, and so is a
// unit file's setting. A path or an argument holding a line break was put
// in the cron entry as it is, in single quotes, and in the service's
// WorkingDirectory= unquoted, and the rest of it became an entry (here one
// that runs every minute) or a line of its own; a carriage return or ESC
// fares no better. The task is refused, the word named escaped.
func TestScheduleControlCharacter(t *testing.T) {
	for _, task := range []Task{
		{Exe: "/usr/bin/lyncbackup", Config: "/etc/lb/x\n* * * * * touch /tmp/pwned #/lyncbackup.yaml"},
		{Exe: "/usr/bin/lyncbackup", Config: "/etc/lb/lyncbackup.yaml", Args: []string{"--staging", "/srv/a\rb"}},
		{Exe: "/usr/bin/lync\x1bbackup", Config: "/etc/lb/lyncbackup.yaml"},
	} {
		line, err := CronLine(task)
		_, svc, _, _, serr := SystemdUnits(task)
		for _, c := range []struct {
			what, out string
			err       error
		}{{"cron", line, err}, {"systemd", svc, serr}} {
			if c.err == nil || !strings.Contains(c.err.Error(), "holds a control character") {
				t.Errorf("%s: %q %q %q: %q, %v; want the word refused", c.what, task.Exe, task.Config, task.Args, c.out, c.err)
			} else if strings.ContainsFunc(c.err.Error(), unicode.IsControl) {
				t.Errorf("the error holds a control character: %q", c.err)
			}
		}
	}
}

// TestScheduleInvisibleCharacter: a path, an argument, the task's name or
// its account holding U+202E (RIGHT-TO-LEFT OVERRIDE) or another invisible
// format character went into the cron line, the unit and the schtasks
// command printed as it is, where the terminal shows the text after it
// reversed (or nothing): the line read is not the line run. The task is
// refused, the word named escaped.
func TestScheduleInvisibleCharacter(t *testing.T) {
	ok := Task{Exe: "/usr/bin/lyncbackup", Config: "/etc/lb/lyncbackup.yaml"}
	for _, c := range []struct {
		task Task
		word string
	}{
		{Task{Exe: ok.Exe, Config: "/etc/lb/\u202elmay.pukcab"}, `"/etc/lb/\u202elmay.pukcab"`},
		{Task{Exe: ok.Exe, Config: ok.Config, Args: []string{"--staging", "/srv/a\u2066b"}}, `"/srv/a\u2066b"`},
		{Task{Exe: "/usr/bin/lync\u202dbackup", Config: ok.Config}, `"/usr/bin/lync\u202dbackup"`},
		{Task{Name: "lync\u2069backup", Exe: ok.Exe, Config: ok.Config}, `"lync\u2069backup"`},
		{Task{User: "CONTOSO\\svc\u202e", Exe: ok.Exe, Config: ok.Config}, `"CONTOSO\\svc\u202e"`},
		{Task{Exe: ok.Exe, Config: "/etc/lb/a\u2028b.yaml"}, `"/etc/lb/a\u2028b.yaml"`},
		// Letters and a symbol that print as blank: a Hangul filler
		// (U+3164, U+115F, U+1160, U+FFA0) or U+2800 BRAILLE PATTERN BLANK.
		{Task{Exe: ok.Exe, Config: "/etc/lb/lyncbackup.yaml\u3164"}, `"/etc/lb/lyncbackup.yaml\u3164"`},
		{Task{User: "CONTOSO\\svc\u115f", Exe: ok.Exe, Config: ok.Config}, `"CONTOSO\\svc\u115f"`},
		{Task{Name: "lync\u1160backup", Exe: ok.Exe, Config: ok.Config}, `"lync\u1160backup"`},
		{Task{Exe: ok.Exe, Config: ok.Config, Args: []string{"--staging", "/srv/\uffa0"}}, `"/srv/\uffa0"`},
		{Task{Exe: "/usr/bin/lyncbackup\u2800", Config: ok.Config}, `"/usr/bin/lyncbackup\u2800"`},
	} {
		task := c.task
		err := task.Validate()
		want := c.word + " holds an invisible format character (U+"
		for _, e := range []string{`\u3164`, `\u115f`, `\u1160`, `\uffa0`, `\u2800`} {
			if strings.Contains(c.word, e) {
				want = c.word + " holds a character that prints as blank space (U+"
			}
		}
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+q: %v; want %s…", c.task, err, want)
		}
		if line, err := CronLine(c.task); err == nil {
			t.Errorf("%+q: cron line %+q", c.task, line)
		}
		if _, err := WindowsXML(c.task); err == nil {
			t.Errorf("%+q: Windows task made", c.task)
		}
	}
	// Format characters that are parts of words stay schedulable: the
	// zero-width non-joiner of a Persian account or folder name (a review
	// finding: refusing every category Cf character made them exit 2).
	for _, task := range []Task{
		{User: "CONTOSO\\\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627", Exe: ok.Exe, Config: ok.Config},
		{Exe: ok.Exe, Config: "/srv/\u0646\u0627\u0645\u0647\u200c\u0647\u0627/lyncbackup.yaml"},
		// Hangul that prints (a Korean account and folder) is no filler.
		{User: "CONTOSO\\\ud64d\uae38\ub3d9", Exe: ok.Exe, Config: "/srv/\ubc31\uc5c5/lyncbackup.yaml"},
	} {
		if err := task.Validate(); err != nil {
			t.Errorf("%+q: %v", task, err)
		}
		if _, err := WindowsXML(task); err != nil {
			t.Errorf("%+q: Windows task: %v", task, err)
		}
	}
}

// splitWindows is the reference parser: the rules CommandLineToArgvW and
// the MSVC runtime use for every argument after the program name.
func splitWindows(s string) []string {
	var args []string
	var cur strings.Builder
	inQ, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
				} else {
					inQ = !inQ
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
				i--
			}
			have = true
		case c == '"':
			inQ = !inQ
			have = true
		case (c == ' ' || c == '\t') && !inQ:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

func FuzzWindowsArgs(f *testing.F) {
	f.Add("C:\\Program Files\\x", `a"b\`, "")
	f.Add(`\\server\share\`, `\"`, "x y")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for _, s := range []string{a, b, c} {
			if strings.ContainsAny(s, "\x00\n\r\v") {
				return
			}
		}
		in := []string{a, b, c}
		got := splitWindows(WindowsArgs(in))
		if strings.Join(got, "\x00") != strings.Join(in, "\x00") || len(got) != 3 {
			t.Fatalf("%q → %q → %q", in, WindowsArgs(in), got)
		}
	})
}

func TestCheckAccount(t *testing.T) {
	for _, u := range []string{"", "SYSTEM", `NT AUTHORITY\SYSTEM`, "S-1-5-18", "localsystem"} {
		tk := Task{User: u}
		if err := tk.CheckAccount(true); err == nil || !strings.Contains(err.Error(), "give --user DOMAIN\\svc") {
			t.Errorf("%q with Lync: %v", u, err)
		}
		if err := tk.CheckAccount(false); err != nil {
			t.Errorf("%q without Lync: %v", u, err)
		}
	}
	if err := (Task{User: `CONTOSO\svc-lb`}).CheckAccount(true); err != nil {
		t.Errorf("named account: %v", err)
	}
}

func TestTaskUserID(t *testing.T) {
	tk := Task{Name: "lyncbackup", Exe: `C:\lb\lyncbackup.exe`, Config: `C:\lb\lb.yaml`, User: `CONTOSO\svc-lb`}
	x, err := WindowsXML(tk)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"utf16": EncodeUTF16(x), "utf8": []byte(strings.Replace(string(x), "UTF-16", "UTF-8", 1))} {
		if u, err := TaskUserID(b); err != nil || u != `CONTOSO\svc-lb` {
			t.Errorf("%s: %q %v", name, u, err)
		}
	}
	if _, err := TaskUserID([]byte("ERROR: The system cannot find the file specified.")); err == nil {
		t.Error("schtasks' error text parsed as a task")
	}
}

// TestWinDir: the task's working folder is the config's folder, and a
// config at a drive's root gets the root ("C:\", not "C:", which means the
// current folder of drive C).
func TestWinDir(t *testing.T) {
	for in, want := range map[string]string{
		`C:\ProgramData\lb\lb.yaml`: `C:\ProgramData\lb`,
		`C:\lb.yaml`:                `C:\`,
		`D:/conf/lb.yaml`:           `D:/conf`,
		`\\server\share\lb.yaml`:    `\\server\share`,
	} {
		if got := winDir(in); got != want {
			t.Errorf("winDir(%q) = %q, want %q", in, got, want)
		}
	}
}

// A name that is no systemd unit name is refused for Linux: it names the
// unit files and stands unquoted in the printed systemctl and rm lines
// ("Lync Backup" made them remove ./Backup.service).
func TestSystemdUnitName(t *testing.T) {
	for _, name := range []string{"Lync Backup", "x;rm -rf ~", "a$b", "ä"} {
		task := linuxTask
		task.Name = name
		if _, _, _, _, err := SystemdUnits(task); err == nil || !strings.Contains(err.Error(), "a systemd unit name may hold only letters, digits and _ . - @") {
			t.Errorf("%q: %v", name, err)
		}
	}
	for _, name := range []string{"lyncbackup", "lync-backup_2.nightly@fe01", `Lync\nightly`} {
		task := linuxTask
		task.Name = name
		if _, _, _, _, err := SystemdUnits(task); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
}
