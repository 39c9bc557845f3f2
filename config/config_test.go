package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const minimal = `host: fe01.contoso.com
exporters:
  - {kind: path, name: certs, paths: ['/etc/ssl']}
encryption: {recipients: [age1xyz]}
destination: {url: 'file:///backups'}
`

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var noEnv = env(nil)

func TestParseMinimalDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "fe01.contoso.com" || c.Compression.Level != "auto" || c.Staging == "" ||
		len(c.Exporters) != 1 || c.Exporters[0].Paths[0] != "/etc/ssl" || c.Destination.URL != "file:///backups" {
		t.Fatalf("%+v", c)
	}
}

func TestParseFull(t *testing.T) {
	data := `# a full config
host: fe01.contoso.com
staging: 'C:\LyncBackup\staging'
exporters:
  - kind: path
    name: certs          # a comment with ${NOT_EXPANDED}
    paths: ['C:\Certs', "D:\\IIS\\config"]
    exclude: ['*.tmp']
    timeout: 2h
lync: {powershell: powershell.exe, exporters: all, pools: auto, filestores: [\\fs01\share]}
compression: {level: better, concurrency: 2}
encryption:
  recipients: ["${RECIPIENT}"]
  recipients_file: keys.txt
destination:
  url: s3://bucket/prefix
  region: eu-west-1
  endpoint: http://127.0.0.1:9000
  path_style: true
  object_lock: {mode: governance, days: 30}
  part_size: 16MiB
  concurrency: 4
retention: {keep_daily: 14, keep_weekly: 8, keep_monthly: 12, min_age: 30d, keep_within: 1y2m, grace: 12h}
limits: {upload: 20MiB/s}
notify: {on: failure, webhooks: [{url: 'https://example.invalid/hook', ping: true}]}
log: {format: json}
`
	c, err := Parse([]byte(data), env(map[string]string{"RECIPIENT": "age1abc"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Staging != `C:\LyncBackup\staging` || c.Exporters[0].Paths[1] != `D:\IIS\config` || c.Exporters[0].Timeout.Approx() != 2*time.Hour {
		t.Errorf("paths/timeout: %+v", c.Exporters[0])
	}
	if !c.Lync.Exporters.All() || !c.Lync.Pools.Auto() || c.Lync.FileStores[0] != `\\fs01\share` {
		t.Errorf("lync: %+v", c.Lync)
	}
	if c.Encryption.Recipients[0] != "age1abc" {
		t.Errorf("recipient %q", c.Encryption.Recipients[0])
	}
	if c.Destination.ObjectLock.Mode != "GOVERNANCE" || c.Destination.PartSize != 16<<20 || !c.Destination.PathStyle {
		t.Errorf("destination %+v", c.Destination)
	}
	if c.Retention.MinAge.Days != 30 || c.Retention.KeepWithin.Years != 1 || c.Retention.KeepWithin.Months != 2 || c.Retention.Grace.Clock != 12*time.Hour {
		t.Errorf("retention %+v", c.Retention)
	}
	if c.Limits.Upload != 20<<20 {
		t.Errorf("upload rate %d", c.Limits.Upload)
	}
}

// TestParseErrors: every bad config is one *Error, one line, naming the key
// (and the line where the file has one).
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, data string
		key        string
		line       int
		msg        string
	}{
		{"empty", "", "", 0, "empty"},
		{"only comments", "# nothing\n", "", 0, "empty"},
		{"malformed", "host: [unclosed\nexporters: x\n", "", 1, ""},
		{"tab indent", "host: a\n\tstaging: b\n", "", 2, ""},
		{"unknown top key", minimal + "colour: blue\n", "colour", 6, `unknown key "colour"`},
		{"unknown nested key", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination:\n  url: file:///b\n  regoin: eu", 1), "destination.regoin", 7, `unknown key "regoin"`},
		{"unknown exporter key", strings.Replace(minimal, "paths:", "pathz:", 1), "exporters[0].pathz", 3, `unknown key "pathz"`},
		{"wrong type int", minimal + "compression: {concurrency: lots}\n", "compression.concurrency", 6, "wrong type"},
		{"fraction for a count", minimal + "retention:\n  keep_daily: 7\n  keep_monthly: 2.5\n", "retention.keep_monthly", 8, `wrong type: number "2.5" where a whole number is expected`},
		{"fraction in a list item", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 's3://b/p', object_lock: {mode: governance, days: 30.9}}", 1), "destination.object_lock.days", 5, `number "30.9"`},
		{"wrong type list", strings.Replace(minimal, "recipients: [age1xyz]", "recipients: {a: b}", 1), "encryption.recipients", 4, "wrong type"},
		{"wrong type bool", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 'file:///b', path_style: maybe}", 1), "destination.path_style", 5, "wrong type"},
		{"wrong type mapping", minimal + "retention: 5\n", "retention", 6, "wrong type"},
		{"bad duration", minimal + "retention: {min_age: 30 days}\n", "retention.min_age", 6, "invalid duration"},
		{"bad size", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 'file:///b', part_size: lots}", 1), "destination.part_size", 5, "invalid size"},
		{"bad rate", minimal + "limits: {upload: fast}\n", "limits.upload", 6, "invalid size"},
		{"missing exporters", "host: a\nencryption: {recipients: [age1x]}\ndestination: {url: 'file:///b'}\n", "exporters", 0, "missing"},
		{"missing exporter kind", strings.Replace(minimal, "kind: path, ", "", 1), "exporters[0].kind", 3, "missing"},
		{"unknown exporter kind", strings.Replace(minimal, "kind: path", "kind: ftp", 1), "exporters[0].kind", 3, `unknown kind "ftp"`},
		{"bad on_unreadable", strings.Replace(minimal, "kind: path, ", "kind: path, on_unreadable: skip, ", 1), "exporters[0].on_unreadable", 3, "warn or fail"},
		{"on_unreadable on a command", strings.Replace(minimal, "kind: path, name: certs, paths: ['/etc/ssl']", "kind: command, name: c, command: [x], on_unreadable: fail", 1), "exporters[0].on_unreadable", 3, "only a path or filestore"},
		{"missing paths", strings.Replace(minimal, ", paths: ['/etc/ssl']", "", 1), "exporters[0].paths", 3, "missing"},
		{"bad exclude pattern", strings.Replace(minimal, "paths: ['/etc/ssl']", "paths: ['/etc/ssl'], exclude: ['*.tmp', '[abc']", 1), "exporters[0].exclude[1]", 3, `"[abc" is not a valid pattern`},
		{"empty exclude pattern", strings.Replace(minimal, "paths: ['/etc/ssl']", "paths: ['/etc/ssl'], exclude: ['']", 1), "exporters[0].exclude[0]", 3, "empty"},
		{"empty path", strings.Replace(minimal, "paths: ['/etc/ssl']", "paths: ['/etc/ssl', ' ']", 1), "exporters[0].paths[1]", 3, "empty"},
		{"path twice", strings.Replace(minimal, "paths: ['/etc/ssl']", "paths: ['/etc/ssl', '/tmp', '/etc/ssl/']", 1), "exporters[0].paths[2]", 3, "/etc/ssl/ is exporters[0].paths[0] again: it would be read and stored twice"},
		{"filestore path twice", strings.Replace(minimal, "kind: path, name: certs, paths: ['/etc/ssl']", "kind: filestore, name: fs, paths: ['/srv/share', '/srv/x/../share']", 1), "exporters[0].paths[1]", 3, "read and stored twice"},
		{"bad item name", strings.Replace(minimal, "name: certs", "name: ../etc", 1), "exporters[0].name", 3, "not a valid item name"},
		{"item names differing in case", strings.Replace(minimal, "  - {kind: path", "  - {kind: path, name: Certs, paths: [/a]}\n  - {kind: path", 1), "exporters[1].name", 4, `"Certs" and "certs" are used by two exporters: names that differ only in case are one folder on Windows`},
		{"duplicate item name", strings.Replace(minimal, "  - {kind: path", "  - {kind: path, name: certs, paths: [/a]}\n  - {kind: path", 1), "exporters[1].name", 4, "used by two"},
		{"missing recipients", strings.Replace(minimal, "encryption: {recipients: [age1xyz]}\n", "", 1), "encryption.recipients", 0, "missing"},
		{"missing destination", strings.Replace(minimal, "destination: {url: 'file:///backups'}\n", "", 1), "destination.url", 0, "missing"},
		{"bad scheme", strings.Replace(minimal, "file:///backups", "ftp://x/y", 1), "destination.url", 5, "unknown scheme"},
		{"bad level", minimal + "compression: {level: ultra}\n", "compression.level", 6, "unknown level"},
		{"bad lock mode", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 's3://b/p', object_lock: {mode: strict, days: 1}}", 1), "destination.object_lock.mode", 5, "GOVERNANCE"},
		{"lock too long", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 's3://b/p', object_lock: {mode: GOVERNANCE, days: 3000000}}", 1), "destination.object_lock.days", 5, "at most 36500 (100 years), not 3000000"},
		{"immutability too long", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 'azblob://a/c', immutability: {days: 36501}}", 1), "destination.immutability.days", 5, "at most 36500"},
		{"timeout in months", strings.Replace(minimal, "paths: ['/etc/ssl']", "paths: ['/etc/ssl'], timeout: 30m", 1), "exporters[0].timeout", 3, `"30m" counts months or years (m means months, as in retention): write a timeout in w, d, h, min or s, e.g. 30min`},
		{"timeout in years", minimal + "lync: {timeout: 1y}\n", "lync.timeout", 6, `"1y" counts months or years`},
		{"timeout in months and minutes", minimal + "lync: {timeout: 1h30m}\n", "lync.timeout", 6, `"1h30m" counts months`},
		{"duration past 200 years", minimal + "retention: {grace: 584y344d}\n", "retention.grace", 6, `duration "584y344d" is too long (at most 200 years)`},
		// A merge key's values are checked as the mapping's own (2.5 was taken as 2).
		{"fraction through a merge key", minimal + "retention: {keep_daily: 14, <<: {keep_monthly: 2.5}}\n", "retention.keep_monthly", 6, `wrong type: number "2.5" where a whole number is expected`},
		// A wrong value of more than 10 characters inside { } named its parent.
		{"long wrong value in a flow mapping", minimal + "retention: {keep_daily: 14, keep_weekly: fourteen-weeks}\n", "retention.keep_weekly", 6, "wrong type"},
		{"negative keep", minimal + "retention: {keep_daily: -1}\n", "retention.keep_daily", 6, "negative"},
		// keep_yearly: 9999 (restic's "for ever") put a keep-until date past the year 9999.
		{"keep past 200 years", minimal + "retention: {keep_daily: 14, keep_yearly: 9999}\n", "retention.keep_yearly", 6, "at most 200 (200 years of them"},
		// A lync section without exporters backs up nothing, every night.
		{"lync without exporters", strings.Replace(minimal, "exporters:\n  - {kind: path, name: certs, paths: ['/etc/ssl']}\n", "", 1) + "lync: {pools: auto, filestores: auto}\n", "lync.exporters", 4, "missing: all, or a list of"},
		{"lync with an empty exporters list", strings.Replace(minimal, "exporters:\n  - {kind: path, name: certs, paths: ['/etc/ssl']}\n", "", 1) + "lync: {exporters: []}\n", "lync.exporters", 4, "missing: all, or a list of"},
		{"bad host", strings.Replace(minimal, "fe01.contoso.com", "fe 01", 1), "host", 1, "not a valid host"},
		{"host with a trailing dot", strings.Replace(minimal, "fe01.contoso.com", "fe01.contoso.com.", 1), "host", 1, `write "fe01.contoso.com"`},
		{"item named like a device", strings.Replace(minimal, "exporters:\n", "exporters:\n  - {kind: path, name: Con.cfg, paths: [/x]}\n", 1), "exporters[0].name", 3, "Windows device CON"},
		{"item ending in a dot", strings.Replace(minimal, "exporters:\n", "exporters:\n  - {kind: path, name: certs., paths: [/x]}\n", 1), "exporters[0].name", 3, `write "certs"`},
		{"unset var", strings.Replace(minimal, "age1xyz", "${NOPE_NOT_SET}", 1), "", 4, "NOPE_NOT_SET is not set"},
		{"two documents", minimal + "---\nhost: b\n", "", 0, "more than one"},
		{"mapping for a word or list", minimal + "lync:\n  pools: {a: b}\n", "lync.pools", 7, "expected a word or a list, not a mapping"},
		{"mapping for a word or list in a flow mapping", minimal + "lync: {product: '2015', pools: {a: b}}\n", "lync.pools", 6, "expected a word or a list, not a mapping"},
		{"mapping in a list", minimal + "lync: {product: '2015', pools: [a, {b: c}]}\n", "lync.pools[1]", 6, "wrong type: a mapping where a string is expected"},
		{"command exporter without a command", strings.Replace(minimal, "kind: path, name: certs, paths: ['/etc/ssl']", "kind: command, name: c", 1), "exporters[0].command", 3, "missing: the program and its arguments"},
		{"sql without backup_dir", strings.Replace(minimal, "kind: path, name: certs, paths: ['/etc/ssl']", "kind: sql, name: s, databases: [LcsCDR]", 1), "exporters[0].backup_dir", 3, "missing: a folder SQL Server writes"},
		{"sql user without password_env", strings.Replace(minimal, "kind: path, name: certs, paths: ['/etc/ssl']", "kind: sql, name: s, databases: [LcsCDR], backup_dir: 'D:\\Bak', user: backup", 1), "exporters[0].password_env", 3, "missing: the environment variable"},
		{"sql password_env without user", strings.Replace(minimal, "kind: path, name: certs, paths: ['/etc/ssl']", "kind: sql, name: s, databases: [LcsCDR], backup_dir: 'D:\\Bak', password_env: LB_PW", 1), "exporters[0].user", 3, "missing: the SQL login whose password is in LB_PW"},
		{"persistentchat exporter on 2019", strings.Replace(minimal, "encryption:", "  - {kind: persistentchat, name: pc}\nencryption:", 1) + "lync: {product: '2019'}\n", "exporters[1].kind", 4, "Persistent Chat was removed in Skype for Business Server 2019"},
		{"persistentchat exporter without instance or lync", strings.Replace(minimal, "encryption:", "  - {kind: persistentchat, name: pc}\nencryption:", 1), "exporters[1].instance", 4, "missing: the SQL instance of the Persistent Chat database"},
		{"unknown time zone", minimal + "retention: {keep_daily: 7, timezone: Mars/Olympus}\n", "retention.timezone", 6, `unknown time zone "Mars/Olympus"`},
		{"lock on a folder", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 'file:///backups', object_lock: {mode: COMPLIANCE, days: 30}}", 1), "destination.object_lock", 5, "a file:// folder cannot lock what it stores"},
		{"immutability on a folder", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 'file:///backups', immutability: {days: 30}}", 1), "destination.immutability", 5, "a file:// folder cannot lock what it stores"},
		{"lock of 0 days", strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 's3://b/p', object_lock: {mode: GOVERNANCE, days: 0}}", 1), "destination.object_lock.days", 5, "must be at least 1"},
		{"two wrong types", minimal + "compression: {concurrency: lots}\nretention: {keep_daily: many}\n", "compression.concurrency", 6, `wrong type: str "lots" where a number is expected (and 1 more)`},
		{"persistentchat on 2019", minimal + "lync: {product: '2019', exporters: [csconfig, persistentchat]}\n", "lync.exporters", 6, "Persistent Chat was removed in Skype for Business Server 2019"},
		{"persistentchat on se", minimal + "lync:\n  product: SE\n  exporters: [persistentchat]\n", "lync.exporters", 8, "Persistent Chat was removed in Skype for Business Server se"},
		{"bad notify", minimal + "notify: {on: sometimes}\n", "notify.on", 6, "failure or always"},
		{"sql auto without lync", strings.Replace(minimal, "encryption:", "  - {kind: sql, databases: auto, backup_dir: 'D:\\Bak'}\nencryption:", 1), "exporters[1].databases", 4, "auto finds the Monitoring and Archiving databases through the Lync cmdlets"},
		// A scalar over two lines is quoted in the message with \n, not a line break (found by FuzzParse).
		{"multi-line scalar", "0\n\n0", "", 1, `wrong type: str "0\n0"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.data), noEnv)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *config.Error, got %T %v", err, err)
			}
			if ce.Key != c.key {
				t.Errorf("key %q, want %q (%v)", ce.Key, c.key, err)
			}
			if ce.Line != c.line {
				t.Errorf("line %d, want %d (%v)", ce.Line, c.line, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%q does not say %q", err, c.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line: %q", err)
			}
			if strings.Contains(err.Error(), "more)") != strings.Contains(c.msg, "more)") {
				t.Errorf("%q: \"(and N more)\" only where the parser found more than one error", err)
			}
			if c.key != "" && !strings.Contains(err.Error(), c.key) {
				t.Errorf("%q does not name %s", err, c.key)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	vars := env(map[string]string{
		"A": "alpha", "EMPTY": "", "Q": `pa"ss\wo'rd # x: y`, "NL": "line1\nline2", "HASH": "abc #def", "URL": "http://127.0.0.1:9000",
		"STAR": "*x", "BLANKTAG": " !0", "BLANKNULL": "  null ",
		// What YAML refuses or folds when written as it is: C0 and C1 controls, NEL, LS, PS, a
		// byte order mark, U+FFFF (U+0084 found by FuzzExpandQuoted).
		"CTRL": "a\x01\x7f\u0084\u0085\u2028\u2029\ufeff\uffffz\r", "C1": "pa\u0084ss", "LS": "a\u2028b",
		"LATIN1": "pa\xe9ss", "C9F": "a\u009fb", "CTRLFIRST": "\x01a",
	})
	cases := []struct{ in, want, err string }{
		{"k: ${A}\n", "k: alpha\n", ""},
		{"k: x${A}y/${A}\n", "k: xalphay/alpha\n", ""},
		{"k: ${EMPTY}\n", "k: \n", ""},
		{"k: ${URL}\n", "k: http://127.0.0.1:9000\n", ""},
		{"k: $${A}\n", "k: ${A}\n", ""},
		{"k: $${UNSET}\n", "k: ${UNSET}\n", ""},
		{"k: $A {A}\n", "k: $A {A}\n", ""},
		{"# ${UNSET}\nk: v # ${UNSET}\n", "# ${UNSET}\nk: v # ${UNSET}\n", ""},
		{"k: \"# ${A}\"\n", "k: \"# alpha\"\n", ""},
		{"k: it's ${A} # ${UNSET}\n", "k: it's alpha # ${UNSET}\n", ""},
		{`k: "${Q}"` + "\n", `k: "pa\"ss\\wo'rd # x: y"` + "\n", ""},
		{`k: '${Q}'` + "\n", `k: 'pa"ss\wo''rd # x: y'` + "\n", ""},
		{`k: "${NL}"` + "\n", `k: "line1\nline2"` + "\n", ""},
		{"k: ${NL}\n", "", "line break"},
		{"k: '${NL}'\n", "", "line break"},
		{"k: ${HASH}\n", "", "comment"},
		{"k: ${Q}\n", "", "double quotes"},
		{"k: ${STAR}\n", "", "starts with"},
		// YAML drops the blanks: a tag and a null in disguise (found by FuzzExpandQuoted).
		{"k: ${BLANKTAG}\n", "", "starts with \"!\""},
		{"k: ${BLANKNULL}\n", "", "null"},
		{"k: \"${BLANKTAG}\"\n", "k: \" !0\"\n", ""},
		{"a: 1\nk: ${UNSET}\n", "", "line 2"},
		{"a: 1\nk: ${HASH}\n", "", "config:2: environment variable HASH: "},
		{`k: "${CTRL}"` + "\n", `k: "a\x01\x7f\x84\x85\u2028\u2029\ufeff\uffffz\x0d"` + "\n", ""},
		{"k: ${C1}\n", "", "holds U+0084, which YAML takes only escaped: write it in double quotes"},
		{"k: '${C1}'\n", "", "holds U+0084"},
		{"k: ${LS}\n", "", "line break"},
		{"k: '${LS}'\n", "", "line break"},
		{`k: "${LATIN1}"` + "\n", "", "environment variable LATIN1: is not valid UTF-8"},
		{"k: ${LATIN1}\n", "", "not valid UTF-8"},
		{`k: "${C9F}"` + "\n", `k: "a\x9fb"` + "\n", ""},
		{"k: ${CTRLFIRST}\n", "", "holds U+0001"},
		// A quoted string closed before the variable leaves it unquoted; a
		// "#" inside quotes, or not after a blank, starts no comment.
		{"k: ['it''s', ${Q}]\n", "", "double quotes"},
		{`k: ["a\"b", ${Q}]` + "\n", "", "double quotes"},
		{`k: ["x", "${Q}"]` + "\n", `k: ["x", "pa\"ss\\wo'rd # x: y"]` + "\n", ""},
		{"k: ['it''s # x', ${A}]\n", "k: ['it''s # x', alpha]\n", ""},
		{"k: 'a b ${Q}'\n", "k: 'a b pa\"ss\\wo''rd # x: y'\n", ""},
		{"k: ['a\\', ${Q}]\n", "", "double quotes"}, // no escapes in single quotes
		{`k: ["a\"# x", ${A}]` + "\n", `k: ["a\"# x", alpha]` + "\n", ""},
		{"k: a#b ${A}\n", "k: a#b alpha\n", ""},
		{"k: v\t# ${UNSET}\n", "k: v\t# ${UNSET}\n", ""},
	}
	for _, c := range cases {
		got, err := Expand([]byte(c.in), vars)
		if c.err != "" {
			if err == nil {
				t.Errorf("Expand(%q) = %q, want error %q", c.in, got, c.err)
			} else if msg := err.Error(); !strings.Contains(msg, c.err) && !strings.Contains(strings.Replace(msg, "config:2:", "line 2", 1), c.err) {
				t.Errorf("Expand(%q): %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	// Escaped values come back verbatim through the YAML parser.
	for _, name := range []string{"Q", "NL", "HASH", "CTRL", "C1", "LS"} {
		c, err := Parse([]byte(strings.Replace(minimal, "host: fe01.contoso.com", "host: fe01\nstaging: \"${"+name+"}\"", 1)), vars)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want, _ := vars(name); c.Staging != want {
			t.Errorf("%s: staging %q, want %q", name, c.Staging, want)
		}
	}
}

func TestDurations(t *testing.T) {
	cases := []struct {
		in             string
		y, mo, d       int
		clock          time.Duration
		approxDays     int
		approxHoursRem int
	}{
		{"30d", 0, 0, 30, 0, 30, 0},
		{"1y2m", 1, 2, 0, 0, 425, 0},
		{"12h", 0, 0, 0, 12 * time.Hour, 0, 12},
		{"2w", 0, 0, 14, 0, 14, 0},
		{"1h30min", 0, 0, 0, 90 * time.Minute, 0, 1},
		{"3mo", 0, 3, 0, 0, 90, 0},
		{"0", 0, 0, 0, 0, 0, 0},
		{"", 0, 0, 0, 0, 0, 0},
	}
	for _, c := range cases {
		d, err := ParseDuration(c.in)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if d.Years != c.y || d.Months != c.mo || d.Days != c.d || d.Clock != c.clock {
			t.Errorf("%q = %+v", c.in, d)
		}
		if got := d.Approx(); got.Truncate(24*time.Hour) != time.Duration(c.approxDays)*24*time.Hour {
			t.Errorf("%q approx %v", c.in, got)
		}
	}
	// The longest accepted: 200 years, however written.
	for _, ok := range []string{"200y", "73000d", "199y12m5d", "2433m", "1y2400m", strings.Repeat("100000h", 17) + "52000h"} {
		if _, err := ParseDuration(ok); err != nil {
			t.Errorf("ParseDuration(%q): %v", ok, err)
		}
	}
	// Longer ones wrapped Approx: "300y" to a negative span, "584y344d"
	// to 25 minutes (a grace that short lets prune take a running backup).
	for _, long := range []string{"201y", "300y", "584y344d", "200y1d", "73000d1s", "199y12m6d", "2434m", "11y2400m", strings.Repeat("100000h", 18), strings.Repeat("100000h", 52)} {
		if d, err := ParseDuration(long); err == nil || !strings.Contains(err.Error(), "too long (at most 200 years)") {
			t.Errorf("ParseDuration(%q) = %v (approx %v), %v; want too long", long, d, d.Approx(), err)
		}
	}
	for _, bad := range []string{"30", "d", "30x", "1.5d", "-1d", "30 d", "1y 2m", "999999999999d", "12hours"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %+v, want error", bad, d)
		}
	}
	for in, zero := range map[string]bool{"0": true, "": true, "1y": false, "1m": false, "1d": false, "1h": false, "1s": false} {
		if d, _ := ParseDuration(in); d.IsZero() != zero {
			t.Errorf("ParseDuration(%q).IsZero() = %v", in, !zero)
		}
	}
	d, _ := ParseDuration("1y2m")
	base := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	if got := d.Before(base); !got.Equal(time.Date(2022, 12, 1, 0, 0, 0, 0, time.UTC)) { // Nov 31 normalises to Dec 1
		t.Errorf("Before = %v", got)
	}
	if got := d.After(time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("After = %v", got)
	}
}

func TestSizesAndRates(t *testing.T) {
	cases := map[string]int64{"0": 0, "1024": 1024, "16MiB": 16 << 20, "64MB": 64e6, "1GiB": 1 << 30, "1.5KiB": 1536, "2 GB": 2e9, "5K": 5000, "3Ki": 3072, "7B": 7, "1TiB": 1 << 40}
	for in, want := range cases {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-5MB", "5XB", "1e3", "99999999999TiB", "MiB", "5000000T"} {
		if v, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want error", bad, v)
		}
	}
	for in, want := range map[string]int64{"20MiB/s": 20 << 20, "20MiB": 20 << 20, "1000/s": 1000} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseRate("fast/s"); err == nil {
		t.Error("bad rate accepted")
	}
}

func TestStringOrList(t *testing.T) {
	c, err := Parse([]byte(minimal+"lync: {exporters: [csconfig, topology], pools: auto, filestores: [a, b]}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Lync.Exporters.All() || len(c.Lync.Exporters) != 2 || !c.Lync.Pools.Auto() || c.Lync.FileStores.Auto() {
		t.Fatalf("%+v", c.Lync)
	}
	if _, err := Parse([]byte(minimal+"lync: {pools: {a: b}}\n"), noEnv); err == nil {
		t.Fatal("mapping accepted as a word or list")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.yaml"))
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte(minimal+"bogus: 1\n"), 0o644)
	_, err = Load(p)
	if !errors.As(err, &ce) || ce.File != p || !strings.HasPrefix(err.Error(), "config "+p+":6: bogus: ") {
		t.Fatalf("error %q should start with the file, line and key", err)
	}
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte(strings.Repeat("# padding\n", MaxSize/10+1)), 0o644)
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("big file: %v", err)
	}
	if _, err := Load(dir); err == nil {
		t.Fatal("a folder loaded as config")
	}
	// The limit itself is accepted, one byte more is not.
	pad := MaxSize - len(minimal)
	exact := []byte(minimal + "#" + strings.Repeat("x", pad-2) + "\n")
	os.WriteFile(big, exact, 0o644)
	if c, err := Load(big); err != nil || c.Host != "fe01.contoso.com" {
		t.Fatalf("a %d-byte config: %v", len(exact), err)
	}
	os.WriteFile(big, append([]byte{'\n'}, exact...), 0o644)
	if _, err := Load(big); err == nil || err.Error() != fmt.Sprintf("config %s: file larger than %d bytes", big, MaxSize) {
		t.Fatalf("a %d-byte config: %v", MaxSize+1, err)
	}
}

// TestErrorText: the one line every config error prints, with and without
// a file, a line and a key.
func TestErrorText(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{Msg: "file is empty"}, "config: file is empty"},
		{Error{File: "c.yaml", Key: "exporters", Msg: "missing"}, "config c.yaml: exporters: missing"},
		{Error{File: "c.yaml", Line: 3, Key: "host", Msg: "bad"}, "config c.yaml:3: host: bad"},
		{Error{Line: 2, Msg: "a\r\nb\nc"}, `config:2: a\nb\nc`},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}

// TestAccepted: the valid side of TestParseErrors' refusals (each a
// config a refusal must not catch).
func TestAccepted(t *testing.T) {
	exp := func(e string) string {
		return strings.Replace(minimal, "encryption:", "  - "+e+"\nencryption:", 1)
	}
	lock := func(days string) string {
		return strings.Replace(minimal, "destination: {url: 'file:///backups'}", "destination: {url: 's3://b/p', object_lock: {mode: GOVERNANCE, days: "+days+"}}", 1)
	}
	for name, data := range map[string]string{
		"command exporter":                 exp("{kind: command, name: c, command: [voice.exe, '{dir}']}"),
		"sql with a login":                 exp("{kind: sql, name: s, databases: [LcsCDR], backup_dir: 'D:\\Bak', user: backup, password_env: LB_PW}"),
		"persistentchat with an instance":  exp("{kind: persistentchat, name: pc, instance: 'sql01\\mgc'}"),
		"persistentchat on 2015 via lync":  exp("{kind: persistentchat, name: pc}") + "lync: {product: '2015'}\n",
		"time zone":                        minimal + "retention: {keep_daily: 7, timezone: Europe/Berlin}\n",
		"lock of 1 day":                    lock("1"),
		"lock of 100 years":                lock("36500"),
		"persistentchat in lync.exporters": minimal + "lync: {product: '2013', exporters: [persistentchat]}\n",
		"timeouts in clock units":          exp("{kind: command, name: c, command: [x], timeout: 1w2d3h30min10s}") + "lync: {timeout: 30min}\n",
	} {
		if _, err := Parse([]byte(data), noEnv); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLyncDefaults: a lync section without powershell runs powershell.exe;
// Persistent Chat is refused only where the product removed it.
func TestLyncDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal+"lync: {product: '2015', exporters: [persistentchat]}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Lync.PowerShell != "powershell.exe" || c.Lync.Product != "2015" {
		t.Errorf("lync %+v", c.Lync)
	}
	c, err = Parse([]byte(minimal+"lync: {product: '2019', powershell: 'C:\\ps7\\pwsh.exe'}\n"), noEnv)
	if err != nil || c.Lync.PowerShell != `C:\ps7\pwsh.exe` {
		t.Errorf("powershell given: %+v %v", c.Lync, err)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "fe01.contoso.com", "sql-lync_db.1", strings.Repeat("a", 100)} {
		if !ValidName(ok) {
			t.Errorf("ValidName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", ".hidden", "-x", "a/b", "a..b", "a b", strings.Repeat("a", 101), "ü"} {
		if ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
}

// Windows names ignore case: C:\Share and c:\SHARE are one folder there,
// two elsewhere.
func TestPathsTwiceWithoutCase(t *testing.T) {
	data := strings.Replace(minimal, "paths: ['/etc/ssl']", `paths: ['C:\Share\Meetings', 'c:\SHARE\meetings\']`, 1)
	_, err := Parse([]byte(data), noEnv)
	if runtime.GOOS == "windows" {
		if err == nil || !strings.Contains(err.Error(), "read and stored twice") {
			t.Fatalf("on Windows: %v, want the second path refused", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("two paths that differ in case are two folders here: %v", err)
	}
}

// TestExcludeBackslash: on Windows "\\" in an exclude pattern separates
// folders (the exporter reads it so), elsewhere a trailing one escapes
// nothing and the pattern would match nothing.
func TestExcludeBackslash(t *testing.T) {
	data := strings.Replace(minimal, "paths: ['/etc/ssl']", `paths: ['/etc/ssl'], exclude: ['Logs\*.tmp', 'Cache\']`, 1)
	_, err := Parse([]byte(data), noEnv)
	if runtime.GOOS == "windows" {
		if err != nil {
			t.Fatalf("on Windows: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), `exporters[0].exclude[1]: "Cache\\" is not a valid pattern`) {
		t.Fatalf("a trailing backslash: %v", err)
	}
}

// A number with nothing after the point is the number it says.
func TestWholeNumbersWithAPoint(t *testing.T) {
	c, err := Parse([]byte(minimal+"retention: {keep_last: 3.0, keep_daily: 1e1}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Retention.KeepLast != 3 || c.Retention.KeepDaily != 10 {
		t.Fatalf("retention %+v, want keep_last 3 and keep_daily 10", c.Retention)
	}
}

// TestExpandInsideFlowCollections: inside [ ] or { }, an unquoted
// ${VAR} whose value holds , [ ] { } is refused: it added items
// (D:\Data,Backup became two paths, a recipient variable an extra
// recipient). Quoted, or outside a flow collection, it is taken whole.
func TestExpandInsideFlowCollections(t *testing.T) {
	const head = "host: fe01\nexporters:\n  - {kind: path, name: certs, paths: ['/etc/ssl']}\ndestination: {url: 'file:///b'}\n"
	for _, doc := range []string{
		head + "encryption: {recipients: [${KEY}]}\n",
		head + "encryption:\n  recipients: [\n    age1x,\n    ${KEY}]\n",
	} {
		if _, err := Parse([]byte(doc), env(map[string]string{"KEY": "age1aaa,age1evil"})); err == nil || !strings.Contains(err.Error(), "holds one of , [ ] { }") {
			t.Errorf("%q: %v", doc, err)
		}
	}
	paths := "host: fe01\nexporters:\n  - {kind: path, name: data, paths: [%s]}\nencryption: {recipients: [age1x]}\ndestination: {url: 'file:///b'}\n"
	if _, err := Parse([]byte(fmt.Sprintf(paths, "${DIR}")), env(map[string]string{"DIR": `D:\Data,Backup`})); err == nil {
		t.Error("an unquoted path with a comma inside [ ] was taken")
	}
	c, err := Parse([]byte(fmt.Sprintf(paths, `"${DIR}"`)), env(map[string]string{"DIR": `D:\Data,Backup`}))
	if err != nil || len(c.Exporters[0].Paths) != 1 || c.Exporters[0].Paths[0] != `D:\Data,Backup` {
		t.Errorf("quoted: %v %v", c, err)
	}
	// Outside [ ] and { } a comma is part of a plain scalar.
	c, err = Parse([]byte(head+"encryption: {recipients: [age1x]}\nstaging: ${S}\n"), env(map[string]string{"S": `D:\Stage,1`}))
	if err != nil || c.Staging != `D:\Stage,1` {
		t.Errorf("block scalar: %v %v", c, err)
	}
}
