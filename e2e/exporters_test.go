package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/stubbin"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

var updateExporters = flag.Bool("update-exporters", false, "rewrite exporters/testdata/e2e-plan.golden")

// lyncSite is a Skype for Business 2015 server as the binary sees it: a
// module under %CommonProgramFiles%, the powershell and sqlcmd stand-ins,
// a file store share and a SQL backup folder.
type lyncSite struct {
	dir, psDir, store, share, bak, id string
	env                               []string
}

func newLyncSite(t *testing.T) *lyncSite {
	s := &lyncSite{dir: t.TempDir()}
	s.psDir = filepath.Join(s.dir, "ps")
	t.Cleanup(func() {
		// The stand-in records each Export-CsRgsConfiguration
		// -RemoveExportedConfiguration there: lyncbackup never passes it
		// (it deletes the Response Groups it exports).
		if b, err := os.ReadFile(filepath.Join(s.psDir, "rgs_removed.txt")); err == nil {
			t.Errorf("Export-CsRgsConfiguration -RemoveExportedConfiguration ran (source, owner, workflows):\n%s", b)
		}
	})
	s.store = filepath.Join(s.dir, "store")
	s.share = filepath.Join(s.dir, "LyncShare")
	s.bak = filepath.Join(s.dir, "sqlbak")
	common := filepath.Join(s.dir, "Common Files")
	mod := filepath.Join(common, "Skype for Business Server 2015", "Modules", "SkypeForBusiness", "SkypeForBusiness.psd1")
	for _, d := range []string{s.psDir, s.store, filepath.Join(s.share, "1-WebServices-1", "m1"), s.bak, filepath.Dir(mod)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(mod, []byte("@{}"), 0o644)
	os.WriteFile(filepath.Join(s.share, "1-WebServices-1", "m1", "Meeting.Active"), []byte("locked"), 0o644)
	os.WriteFile(filepath.Join(s.share, "1-WebServices-1", "m1", "content.dat"), []byte("meeting content"), 0o644)
	s.id = filepath.Join(s.dir, "id.txt")
	pub, err := crypto.GenerateIdentity(s.id)
	if err != nil {
		t.Fatal(err)
	}
	disc, _ := filepath.Abs("../exporters/testdata/discovery/onepool.json")
	s.fixture(t, map[string]any{"discovery_file": disc, "discovery_encoding": "utf16le"})
	cfg := `host: fe01
staging: ` + filepath.Join(s.dir, "staging") + `
lync:
  powershell: ` + stubbin.PowerShell(t) + `` + lyncModule(common) + `
  exporters: all
  filestores: ['` + s.share + `']
exporters:
  - {kind: sql, name: sql, instance: 'sql01.contoso.com\mon', databases: [LcsCDR, QoEMetrics], backup_dir: '` + s.bak + `', sqlcmd: ` + stubbin.Sqlcmd(t) + `}
  - {kind: command, name: voice, command: ` + voiceCommand(t) + `}
encryption: {recipients: [` + pub + `]}
destination: {url: 'file://` + filepath.ToSlash(s.store) + `'}
`
	if err := os.WriteFile(filepath.Join(s.dir, "lyncbackup.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.env = []string{"PSSTUB_DIR=" + s.psDir, "CommonProgramFiles=" + common, "SQLCMDSTUB_DIR=" + s.dir}
	return s
}

// lyncModule: Wine resets %CommonProgramFiles% in every process it starts,
// so under the Windows lane the module is named in the config instead
// (the unit tests in exporters/ cover the lookup under the variable).
func lyncModule(common string) string {
	if runtime.GOOS != "windows" {
		return ""
	}
	return "\n  module: '" + filepath.Join(common, "Skype for Business Server 2015", "Modules", "SkypeForBusiness", "SkypeForBusiness.psd1") + "'\n  product: '2015'"
}

// voiceCommand is the command exporter of the site: sh on Unix; on Windows
// (no sh) the test binary itself, as a helper program, writes the file.
func voiceCommand(t *testing.T) string {
	if runtime.GOOS != "windows" {
		return `[sh, -c, 'echo "<Policies/>" > {dir}/voice.xml']`
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return "['" + exe + "', " + helperArg + ", write, '{dir}', voice.xml, '<Policies/>']"
}

func (s *lyncSite) fixture(t *testing.T, fx map[string]any) {
	b, _ := json.Marshal(fx)
	if err := os.WriteFile(filepath.Join(s.psDir, "fixture.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(s.psDir, "calls"))
}

// editConfig replaces old with new in the site's config (once); a config
// without old fails the test: the site's exporters changed under it.
func (s *lyncSite) editConfig(t *testing.T, old, new string) {
	t.Helper()
	p := filepath.Join(s.dir, "lyncbackup.yaml")
	cfg, _ := os.ReadFile(p)
	edited := strings.Replace(string(cfg), old, new, 1)
	if edited == string(cfg) {
		t.Fatalf("the site's config has no %s: update this test", old)
	}
	if err := os.WriteFile(p, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *lyncSite) calls(t *testing.T) []string {
	ents, _ := os.ReadDir(filepath.Join(s.psDir, "calls"))
	var out []string
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(s.psDir, "calls", e.Name()))
		out = append(out, string(b))
	}
	return out
}

type manifestJSON struct {
	SetID  string `json:"set_id"`
	Status string `json:"status"`
	Items  []struct {
		Name     string            `json:"name"`
		Kind     string            `json:"kind"`
		Files    int64             `json:"files"`
		Meta     map[string]string `json:"meta"`
		Warnings []string          `json:"warnings"`
	} `json:"items"`
	Failures []struct {
		Exporter, Error string
	} `json:"failures"`
	Discovery map[string]any `json:"discovery"`
}

func (s *lyncSite) manifest(t *testing.T, setID string) manifestJSON {
	b, err := os.ReadFile(filepath.Join(s.store, "fe01", setID, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifestJSON
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var setIDRe = regexp.MustCompile(`\d{8}T\d{6}Z-[0-9a-f]{6}`)

// TestLyncRoundTrip: backup with every exporter (stand-ins) → restore →
// --plan matches the golden file → --run-imports runs the imports in order.
func TestLyncRoundTrip(t *testing.T) {
	s := newLyncSite(t)
	r := testbin.Run(t, s.dir, s.env, "backup", "--json")
	if r.Code != 0 {
		t.Fatalf("backup: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	setID := setIDRe.FindString(r.Stdout)
	m := s.manifest(t, setID)
	var names []string
	for _, it := range m.Items {
		names = append(names, it.Name)
	}
	for i, n := range names { // the file store item is named after the (temporary) share's path
		if strings.HasPrefix(n, "filestore-") {
			names[i] = "filestore-*"
		}
	}
	want := "csconfig filestore-* lis persistentchat-pchat01.contoso.com rgs-pool01.contoso.com sql-sql01.contoso.com_mon-LcsCDR sql-sql01.contoso.com_mon-QoEMetrics topology userdata-pool01.contoso.com voice"
	if strings.Join(names, " ") != want {
		t.Errorf("items\n%s\nwant\n%s", strings.Join(names, " "), want)
	}
	lync, _ := m.Discovery["lync"].(map[string]any)
	if lync["product"] != "2015" || lync["config_store"] != `sql01.contoso.com\rtc` || lync["persistentchat_instance"] != `sql01.contoso.com\mgc` {
		t.Errorf("discovery %v", m.Discovery)
	}
	// Staging and the SQL .bak files are gone once the set is committed.
	if ents, _ := os.ReadDir(filepath.Join(s.dir, "staging", "fe01")); len(ents) != 0 {
		t.Errorf("staging left behind: %v", ents)
	}
	if ents, _ := os.ReadDir(s.bak); len(ents) != 0 {
		t.Errorf(".bak files left behind: %v", ents)
	}

	to := filepath.Join(s.dir, "restore")
	testbin.MustRun(t, s.dir, s.env, "restore", setID, "--from", "file://"+filepath.ToSlash(s.store), "--to", to, "--identity", s.id)
	for _, f := range []string{"csconfig/CsConfiguration.zip", "userdata-pool01.contoso.com/CsUserData-pool01.contoso.com.zip",
		"sql-sql01.contoso.com_mon-LcsCDR/sql01.contoso.com_mon-LcsCDR.bak", "voice/output/voice.xml", "topology/Topology.xml"} {
		if _, err := os.Stat(filepath.Join(to, f)); err != nil {
			t.Errorf("restored %s: %v", f, err)
		}
	}
	for _, it := range m.Items {
		if it.Kind == "filestore" {
			base := filepath.Join(to, it.Name, "LyncShare", "1-WebServices-1", "m1")
			if _, err := os.Stat(filepath.Join(base, "content.dat")); err != nil {
				t.Error(err)
			}
			if _, err := os.Stat(filepath.Join(base, "Meeting.Active")); !os.IsNotExist(err) {
				t.Error("Meeting.Active was backed up")
			}
		}
	}

	// Without a terminal the loss must be named: a plan for the wrong
	// loss imports old data over live servers.
	if r := testbin.Run(t, t.TempDir(), nil, "restore", setID, "--from", "file://"+filepath.ToSlash(s.store), "--to", to, "--plan"); r.Code != 2 ||
		!strings.Contains(r.Stderr, "restore --plan / --run-imports needs --scenario: what was lost? cms, standard, pool, frontend, filestore or sql") {
		t.Errorf("--plan without --scenario: exit %d\n%s", r.Code, r.Stderr)
	}
	before := len(s.calls(t))
	if r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--yes"); r.Code != 2 || len(s.calls(t)) != before {
		t.Errorf("--run-imports without --scenario: exit %d, %d PowerShell calls\n%s", r.Code, len(s.calls(t))-before, r.Stderr)
	}
	// The plan needs only the manifest: no config here.
	plan := testbin.MustRun(t, t.TempDir(), nil, "restore", setID, "--from", "file://"+filepath.ToSlash(s.store), "--to", to, "--plan", "--scenario", "cms").Stdout
	norm := strings.ReplaceAll(strings.ReplaceAll(plan, s.dir, "$TMP"), setID, "$SETID")
	for _, it := range m.Items {
		if it.Kind == "filestore" { // named after the (temporary) share's path
			norm = strings.ReplaceAll(norm, it.Name, "$FILESTORE")
		}
	}
	golden := filepath.Join("..", "exporters", "testdata", "e2e-plan.golden")
	if runtime.GOOS == "windows" { // C:\ paths
		golden = filepath.Join("..", "exporters", "testdata", "e2e-plan-windows.golden")
	}
	if *updateExporters {
		os.WriteFile(golden, []byte(norm), 0o644)
	} else if w, err := os.ReadFile(golden); err != nil || string(w) != norm {
		t.Errorf("plan differs from %s (go test ./e2e -run TestLyncRoundTrip -update-exporters):\n%s", golden, norm)
	}

	// --run-imports --yes: every [run] step through the stand-in, in order
	// (the file store only when named: it is on a server of its own).
	s.fixture(t, map[string]any{})
	r = testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--filestore", "all", "--yes")
	if r.Code != 0 {
		t.Fatalf("run-imports: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var seq []string
	for _, c := range s.calls(t) {
		for _, w := range []string{"robocopy", "Import-CsConfiguration", "Import-CsUserData", "Import-CsLisConfiguration", "Import-CsRgsConfiguration", "Import-CsPersistentChatData"} {
			if strings.Contains(c, w+" ") {
				seq = append(seq, w)
			}
		}
		if strings.Contains(c, "Import-CsUserData") && !(strings.Index(c, "Stop-CsWindowsService -ComputerName 'fe03.contoso.com'") < strings.Index(c, "Import-CsUserData") &&
			strings.Index(c, "Import-CsUserData") < strings.Index(c, "Start-CsPool -PoolFqdn 'pool01.contoso.com' -Force")) {
			t.Errorf("services not stopped around Import-CsUserData:\n%s", c)
		}
	}
	if got := strings.Join(seq, " "); got != "robocopy Import-CsConfiguration Import-CsUserData Import-CsLisConfiguration Import-CsRgsConfiguration" {
		t.Errorf("imports ran as %s", got)
	}

	// A failing import stops the run and says how to go on.
	s.fixture(t, map[string]any{"fail": map[string]string{"Import-CsLisConfiguration": "Cannot connect to the LIS database."}})
	r = testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--yes")
	if r.Code != 1 || !regexp.MustCompile(`restore stopped at step (\d+) \(Import the E9-1-1 Location Information Service configuration\): step \d+ failed \(exit 1\): Import-CsLisConfiguration: Cannot connect to the LIS database\. Fix the cause, then continue with: lyncbackup restore \S+ --run-imports --scenario cms --to \S+ --yes --start-at (\d+)`).MatchString(r.Stderr) {
		t.Errorf("failing import: exit %d\n%s", r.Code, r.Stderr)
	}
	if n := len(s.calls(t)); n != 3 { // configuration, user data, then LIS fails
		t.Errorf("%d steps ran before the failure, want 3", n)
	}

	// --json: --plan and --run-imports --yes print one document each (the
	// plan had no ok / exit_code, the imports none at all); the step lines
	// go to stderr.
	type importsDoc struct {
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Scenario string `json:"scenario"`
		Error    string `json:"error"`
		Options  struct {
			Pools []string `json:"pools"`
		} `json:"options"`
		Steps []struct {
			Step   int    `json:"step"`
			Title  string `json:"title"`
			Result string `json:"result"`
		} `json:"steps"`
	}
	var pd importsDoc
	r = testbin.MustRun(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "cms", "--json")
	if err := json.Unmarshal([]byte(r.Stdout), &pd); err != nil || !pd.OK || pd.Scenario != "cms" || len(pd.Steps) < 6 || pd.Options.Pools == nil || !strings.Contains(r.Stdout, `"set_id": "`+setID+`"`) {
		t.Errorf("--plan --json: %+v %v\n%s", pd, err, r.Stdout)
	}
	s.fixture(t, map[string]any{})
	r = testbin.MustRun(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--yes", "--json")
	var rd importsDoc
	done := 0
	if err := json.Unmarshal([]byte(r.Stdout), &rd); err != nil || !rd.OK || rd.ExitCode != 0 {
		t.Errorf("--run-imports --json: %+v %v\n%s", rd, err, r.Stdout)
	}
	for _, st := range rd.Steps {
		if st.Result == "done" {
			done++
		}
	}
	if done != len(s.calls(t)) || done != strings.Count(r.Stderr, " done\n") || strings.Contains(r.Stdout, "[run]") {
		t.Errorf("--run-imports --json: %d steps done in the document, %d PowerShell runs, stderr:\n%s", done, len(s.calls(t)), r.Stderr)
	}
	s.fixture(t, map[string]any{"fail": map[string]string{"Import-CsLisConfiguration": "Cannot connect to the LIS database."}})
	r = testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--yes", "--json")
	rd = importsDoc{}
	if err := json.Unmarshal([]byte(r.Stdout), &rd); err != nil || rd.OK || rd.ExitCode != 1 || r.Code != 1 || !strings.Contains(rd.Error, "restore stopped at step") {
		t.Errorf("failing --run-imports --json: exit %d, %+v %v\n%s", r.Code, rd, err, r.Stdout)
	}
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--json"), 2, "--run-imports --json needs --yes")
	// Flags of another mode are refused, not ignored.
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--identity", s.id, "--yes"), 2, "--yes is taken with --run-imports only")
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--identity", s.id, "--scenario", "cms"), 2, "--scenario is taken with --plan or --run-imports only")
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "cms", "--force"), 2, "--force belongs to the restore of the files")
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--yes", "--sync"), 2, "--sync belongs to the restore of the files")
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--thaw", "--plan"), 2, "--thaw only starts bringing the set's objects online; --plan")

	// Without --yes it asks; "q" stops before anything runs.
	s.fixture(t, map[string]any{})
	var so, se bytes.Buffer
	cmd, err := testbin.Start(t, func() *exec.Cmd {
		cmd := exec.Command(testbin.Path(t), "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--filestore", "all")
		cmd.Dir, cmd.Env, cmd.Stdin = s.dir, append(os.Environ(), s.env...), strings.NewReader("y\nq\n")
		cmd.Stdout, cmd.Stderr = &so, &se
		return cmd
	})
	if err == nil {
		err = cmd.Wait()
	}
	if err == nil || !strings.Contains(so.String(), "Step 1 is yours: done? [y]es / [q]uit: ") || !strings.Contains(so.String(), "Run step 2? [y]es / [s]kip / [q]uit: ") ||
		!strings.Contains(se.String(), "stopped before step 2") || len(s.calls(t)) != 0 {
		t.Errorf("ask: %v\n%s\n%s", err, so.String(), se.String())
	}
}

// TestLyncPartialSet: one failing pool export and one failing database
// leave a committed partial set (exit 3) holding everything else.
func TestLyncPartialSet(t *testing.T) {
	s := newLyncSite(t)
	disc, _ := filepath.Abs("../exporters/testdata/discovery/threepools.json")
	s.fixture(t, map[string]any{"discovery_file": disc, "fail": map[string]string{
		"-PoolFqdn 'pool02.contoso.com'": "The pool pool02.contoso.com is not reachable.",
	}})
	s.env = append(s.env, "SQLCMDSTUB_FAIL=QoEMetrics")
	r := testbin.Run(t, s.dir, s.env, "backup")
	if r.Code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "partial backup: 2 exporter(s) failed") {
		t.Errorf("stderr %s", r.Stderr)
	}
	m := s.manifest(t, setIDRe.FindString(r.Stdout))
	if m.Status != "partial" || len(m.Failures) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	errs := m.Failures[0].Error + "\n" + m.Failures[1].Error
	if !strings.Contains(errs, "Export-CsUserData (pool pool02.contoso.com) failed (exit 1): Export-CsUserData: The pool pool02.contoso.com is not reachable.") ||
		!strings.Contains(errs, "Database 'QoEMetrics' does not exist") {
		t.Errorf("failures %s", errs)
	}
	got := map[string]bool{}
	for _, it := range m.Items {
		got[it.Name] = true
	}
	for _, w := range []string{"userdata-pool01.contoso.com", "userdata-pool03.dublin.contoso.com", "rgs-pool03.dublin.contoso.com", "sql-sql01.contoso.com_mon-LcsCDR", "csconfig"} {
		if !got[w] {
			t.Errorf("item %s missing (have %v)", w, got)
		}
	}
	if got["userdata-pool02.contoso.com"] {
		t.Error("the failed pool has an item")
	}
	if ents, _ := os.ReadDir(filepath.Join(s.dir, "staging", "fe01")); len(ents) != 0 {
		t.Errorf("staging left behind after a partial run: %v", ents)
	}
}

// backupAndRestore backs the site up and restores the set under to.
func (s *lyncSite) backupAndRestore(t *testing.T, to string) string {
	t.Helper()
	r := testbin.Run(t, s.dir, s.env, "backup", "--json")
	if r.Code != 0 {
		t.Fatalf("backup: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	setID := setIDRe.FindString(r.Stdout)
	testbin.MustRun(t, s.dir, s.env, "restore", setID, "--to", to, "--identity", s.id)
	return setID
}

// TestLyncRunImportsRefusesAnotherSetsFiles: --run-imports imports the
// files under --to; when the restore folder's record says they came from
// another set (an earlier night restored there), the plan of this set
// would import that night's configuration and users. Refused before any
// step runs, naming both sets; an item folder restored from both sets
// over each other (--force) is of no one set and refused too; the set's
// own plan runs.
func TestLyncRunImportsRefusesAnotherSetsFiles(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	first := s.backupAndRestore(t, to)
	time.Sleep(1100 * time.Millisecond) // set ids are by the second
	r := testbin.Run(t, s.dir, s.env, "backup", "--json")
	if r.Code != 0 {
		t.Fatalf("second backup: exit %d\n%s", r.Code, r.Stderr)
	}
	second := setIDRe.FindString(r.Stdout)
	if second == "" || second == first {
		t.Fatalf("second set id %q (first %q)", second, first)
	}
	s.fixture(t, map[string]any{})
	r = testbin.Run(t, s.dir, s.env, "restore", second, "--to", to, "--run-imports", "--scenario", "cms", "--yes")
	if r.Code != 1 || !strings.Contains(r.Stderr, "restored from set fe01/"+first) || !strings.Contains(r.Stderr, "this plan is of set fe01/"+second) ||
		!strings.Contains(r.Stderr, "run the plan of set "+first+" instead") {
		t.Errorf("the second set's plan over the first set's files: exit %d\n%s", r.Code, r.Stderr)
	}
	if got := s.importsRun(t); len(got) != 0 {
		t.Errorf("steps ran before the refusal: %v", got)
	}
	// The first set's own plan runs.
	s.fixture(t, map[string]any{})
	if r := testbin.Run(t, s.dir, s.env, "restore", first, "--to", to, "--run-imports", "--scenario", "cms", "--yes"); r.Code != 0 {
		t.Errorf("the first set's plan: exit %d\n%s", r.Code, r.Stderr)
	}
	// csconfig of both nights over each other: of no one set.
	testbin.MustRun(t, s.dir, s.env, "restore", second, "--to", to, "--identity", s.id, "--item", "csconfig", "--force")
	s.fixture(t, map[string]any{})
	r = testbin.Run(t, s.dir, s.env, "restore", second, "--to", to, "--run-imports", "--scenario", "cms", "--yes")
	if r.Code != 1 || !strings.Contains(r.Stderr, "csconfig (mixed: restored from sets fe01/"+first+" and fe01/"+second) || len(s.importsRun(t)) != 0 {
		t.Errorf("a plan over a mixed item folder: exit %d, steps %v\n%s", r.Code, s.importsRun(t), r.Stderr)
	}
}

// importsRun lists the restore cmdlets the stand-in received, in order.
func (s *lyncSite) importsRun(t *testing.T) []string {
	var seq []string
	for _, c := range s.calls(t) {
		for _, w := range []string{"robocopy", "Import-CsConfiguration", "Import-CsUserData", "Import-CsLisConfiguration", "Import-CsRgsConfiguration", "Import-CsPersistentChatData", "Enable-CsTopology", "Install-CsDatabase", "Set-CsConfigurationStoreLocation"} {
			if strings.Contains(c, w+" ") || strings.HasSuffix(strings.TrimSpace(c), w) || strings.Contains(c, w+"\n") {
				seq = append(seq, w)
			}
		}
	}
	return seq
}

// TestLyncScenarioFileStore: the file store loss copies the share back and
// resets its permissions, nothing else; a file changed on the surviving
// share since the backup is kept, a lost one comes back; --overwrite-newer
// replaces the newer one too.
func TestLyncScenarioFileStore(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	meeting := filepath.Join(s.share, "1-WebServices-1", "m1")
	os.Remove(filepath.Join(meeting, "content.dat"))
	os.WriteFile(filepath.Join(meeting, "agenda.dat"), []byte("changed after the backup"), 0o644)
	s.fixture(t, map[string]any{})
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "filestore", "--yes")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if got := strings.Join(s.importsRun(t), " "); got != "robocopy Enable-CsTopology" {
		t.Errorf("the file store scenario ran %q, want robocopy then Enable-CsTopology only", got)
	}
	if b, err := os.ReadFile(filepath.Join(meeting, "content.dat")); err != nil || string(b) != "meeting content" {
		t.Errorf("lost file not brought back: %q %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(meeting, "agenda.dat")); string(b) != "changed after the backup" {
		t.Errorf("a file only on the share was touched: %q", b)
	}
	// --pool would be ignored by the file store's plan: refused.
	s.fixture(t, map[string]any{})
	r = testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "filestore", "--pool", "pool01.contoso.com", "--yes")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--pool does not apply to --scenario filestore") || len(s.importsRun(t)) != 0 {
		t.Errorf("--scenario filestore --pool: exit %d, ran %v\n%s", r.Code, s.importsRun(t), r.Stderr)
	}
}

// TestLyncScenarioFileStoreChoice: a set holding two file stores (two
// pools, two sites) copies back only the one named with --filestore; the
// other, which survived, is not written to. Without --filestore, or with a
// name that is neither, nothing runs: exit 2 with one line naming the set's
// file stores.
func TestLyncScenarioFileStoreChoice(t *testing.T) {
	s := newLyncSite(t)
	share2 := s.secondFileStore(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	if n := strings.Count(fmt.Sprint(s.manifest(t, setID).Items), "filestore-"); n != 2 {
		t.Fatalf("the set holds %d file stores, want 2", n)
	}
	// Both shares lose a file after the backup.
	lost1 := filepath.Join(s.share, "1-WebServices-1", "m1", "content.dat")
	lost2 := filepath.Join(share2, "1-WebServices-1", "m2", "slides.dat")
	os.Remove(lost1)
	os.Remove(lost2)

	s.fixture(t, map[string]any{})
	args := []string{"restore", setID, "--to", to, "--run-imports", "--scenario", "filestore", "--yes"}
	failsWith(t, testbin.Run(t, s.dir, s.env, args...), 2, "--scenario filestore: the set holds several file stores ("+s.share+", "+share2+"): name the one that was lost with --filestore")
	failsWith(t, testbin.Run(t, s.dir, s.env, append(args, "--filestore", filepath.Join(s.dir, "Nowhere"))...), 2,
		"--filestore "+filepath.Join(s.dir, "Nowhere")+": the set holds no such file store (it has: "+s.share+", "+share2+")")
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "pool", "--filestore", share2), 2, "--filestore is for --scenario filestore or cms")
	if got := s.importsRun(t); len(got) != 0 {
		t.Fatalf("refused runs ran %v", got)
	}
	if _, err := os.Stat(lost1); !os.IsNotExist(err) {
		t.Fatalf("a refused run copied the first file store back")
	}

	r := testbin.Run(t, s.dir, s.env, append(args, "--filestore", share2)...)
	if r.Code != 0 {
		t.Fatalf("--filestore %s: exit %d\n%s\n%s", share2, r.Code, r.Stdout, r.Stderr)
	}
	if got := strings.Join(s.importsRun(t), " "); got != "robocopy Enable-CsTopology" {
		t.Errorf("ran %q, want one robocopy then Enable-CsTopology", got)
	}
	if b, err := os.ReadFile(lost2); err != nil || string(b) != "dublin content" {
		t.Errorf("the named file store's lost file not brought back: %q %v", b, err)
	}
	if _, err := os.Stat(lost1); !os.IsNotExist(err) {
		t.Errorf("the file store that was not named was written to (%s is back)", lost1)
	}
	// --json carries the choice.
	r = testbin.MustRun(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "filestore", "--filestore", share2, "--json")
	var pd struct {
		Options struct {
			FileStores []string `json:"filestores"`
		} `json:"options"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &pd); err != nil || len(pd.Options.FileStores) != 1 || pd.Options.FileStores[0] != share2 {
		t.Errorf("--json options.filestores: %v %v\n%s", pd.Options.FileStores, err, r.Stdout)
	}
}

// TestLyncScenarioSQLRecreatesChatStore: --scenario sql of a set holding
// the Persistent Chat content creates the Persistent Chat database
// (Install-CsDatabase -DatabaseType PersistentChat on the instance the set
// records) before importing into it; the stand-in refuses a parameter set
// Install-CsDatabase has not.
func TestLyncScenarioSQLRecreatesChatStore(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	s.fixture(t, map[string]any{})
	// The set holds LcsCDR, QoEMetrics and the chat content: which was lost?
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "sql", "--yes"), 2,
		`--scenario sql: the set holds several databases (mgc on sql01.contoso.com\mgc, LcsCDR on sql01.contoso.com\mon, QoEMetrics on sql01.contoso.com\mon): name the one that was lost with --database`)
	if got := s.importsRun(t); len(got) != 0 {
		t.Fatalf("a refused run ran %v", got)
	}
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "sql", "--database", "mgc", "--yes")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if got := strings.Join(s.importsRun(t), " "); got != "Install-CsDatabase Import-CsPersistentChatData" {
		t.Errorf("the sql scenario ran %q, want Install-CsDatabase then Import-CsPersistentChatData", got)
	}
	if calls := s.calls(t); len(calls) == 0 || !strings.Contains(calls[0], "Install-CsDatabase -DatabaseType PersistentChat -SqlServerFqdn 'sql01.contoso.com' -SqlInstanceName 'mgc' -UseDefaultSqlPaths -Force") {
		t.Errorf("first step run:\n%v", calls)
	}
}

// TestLyncRgsConflictReported: the Response Group import of a rebuilt pool
// replaces its configuration (-OverwriteOwner -ReplaceExistingRgsSettings);
// into a pool that already holds a workflow of the same name it fails, and
// the run stops saying why and how to go on. --rgs-to imports into a pool
// that survived without replacing anything of it.
func TestLyncRgsConflictReported(t *testing.T) {
	s := newLyncSite(t)
	// Two pools run Response Groups: pool01 and pool09 (which survives).
	cfgPath := filepath.Join(s.dir, "lyncbackup.yaml")
	cfg, _ := os.ReadFile(cfgPath)
	two := strings.Replace(string(cfg), "  exporters: all\n", "  exporters: all\n  rgs_pools: [pool01.contoso.com, pool09.contoso.com]\n", 1)
	if two == string(cfg) {
		t.Fatal("the site's config changed: update this test")
	}
	os.WriteFile(cfgPath, []byte(two), 0o600)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	// Microsoft does not publish the cmdlet's message on a name conflict:
	// the stand-in prints what the fixture says, and the run must quote
	// it as it is, after the step it stopped at.
	cmdletSays := `Workflow "Help Desk" [x] (1+1) $0 {0}: whatever the cmdlet's wording is`
	s.fixture(t, map[string]any{"rgs_existing": map[string][]string{"ApplicationServer:pool01.contoso.com": {"Help Desk"}}, "rgs_conflict_error": cmdletSays})
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "pool", "--pool", "pool01.contoso.com", "--yes")
	re := regexp.MustCompile(`restore stopped at step (\d+) \(Import the Response Groups of pool pool01\.contoso\.com\): step \d+ failed \(exit 1\): Import-CsRgsConfiguration: ` + regexp.QuoteMeta(cmdletSays) + `\. The text after "failed \(exit N\):" is what PowerShell reported, as one line, at most 600 bytes \(… where cut\)\. A name conflict means pool01\.contoso\.com already holds Response Group objects of the same names .* then run the step again\. Fix the cause, then continue with: lyncbackup restore \S+ --pool pool01\.contoso\.com --run-imports --scenario pool --to \S+ --yes --start-at (\d+)`)
	m := re.FindStringSubmatch(r.Stderr)
	if r.Code != 1 || m == nil || m[1] != m[2] {
		t.Errorf("conflicting import: exit %d\n%s", r.Code, r.Stderr)
	}
	calls := s.calls(t)
	if len(calls) == 0 || !strings.Contains(calls[len(calls)-1], "Import-CsRgsConfiguration -Destination 'ApplicationServer:pool01.contoso.com' -OverwriteOwner -ReplaceExistingRgsSettings -FileName ") {
		t.Errorf("last step run: %v", calls)
	}
	// Into a pool that survived (a workflow of its own, another name).
	s.fixture(t, map[string]any{"rgs_existing": map[string][]string{"ApplicationServer:pool09.contoso.com": {"Front Desk"}}})
	r = testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "pool", "--pool", "pool01.contoso.com", "--rgs-to", "pool09.contoso.com", "--yes")
	if r.Code != 0 {
		t.Fatalf("--rgs-to: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	calls = s.calls(t)
	if last := calls[len(calls)-1]; !strings.Contains(last, "Import-CsRgsConfiguration -Destination 'ApplicationServer:pool09.contoso.com' -FileName ") ||
		strings.Contains(last, "-OverwriteOwner") || strings.Contains(last, "-ReplaceExistingRgsSettings") {
		t.Errorf("--rgs-to ran:\n%s", last)
	}
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "frontend", "--pool", "pool01.contoso.com", "--rgs-to", "pool09.contoso.com"), 2, "--rgs-to is for --scenario cms, standard or pool")
	// A pool the set does not record as running Response Groups, and a
	// service identity with its prefix (the plan adds the prefix itself).
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "pool", "--pool", "pool01.contoso.com", "--rgs-to", "pool9.contoso.com"), 2,
		"--rgs-to pool9.contoso.com: not a pool that survived and runs Response Groups, as the set records them (pool09.contoso.com)")
	if r := testbin.MustRun(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "pool", "--pool", "pool01.contoso.com", "--rgs-to", "ApplicationServer:pool09.contoso.com"); !strings.Contains(r.Stdout, "-Destination 'ApplicationServer:pool09.contoso.com' ") {
		t.Errorf("--rgs-to ApplicationServer:pool09.contoso.com:\n%s", r.Stdout)
	}
	// An empty --rgs-to (a variable that was not set) is refused, not ignored.
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "pool", "--rgs-to", " "), 2, "--rgs-to needs the FQDN of a pool that survived")
}

// TestLyncRgsStepFailureSaysWhatPowerShellReported: when the Response
// Group step's PowerShell fails, the run quotes what PowerShell reported
// (the house script's catch: one line, whitespace collapsed, at most 600
// bytes) and says so, without calling it the cmdlet's own words: a
// missing module fails the same step with Import-Module's error. A long,
// multi-line conflict message comes out as that one line, clipped.
func TestLyncRgsStepFailureSaysWhatPowerShellReported(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	truth := "The text after \"failed (exit N):\" is what PowerShell reported, as one line, at most 600 bytes (… where cut)."
	step := rgsStepOf(t, s, setID, to)
	s.fixture(t, map[string]any{"module_missing": true})
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--yes", "--start-at", step)
	if r.Code != 1 || !strings.Contains(r.Stderr, "step "+step+" failed (exit 1): ") || !strings.Contains(r.Stderr, truth) ||
		strings.Contains(r.Stderr, "Import-CsRgsConfiguration's own") || strings.Contains(r.Stderr, "quoted as it gave it") {
		t.Errorf("module missing at the Response Group step: exit %d\n%s", r.Code, r.Stderr)
	}
	var lines []string
	for i := 0; i < 12; i++ {
		lines = append(lines, fmt.Sprintf("Workflow \"Help Desk %02d\"  already exists in service:ApplicationServer:pool01.contoso.com (line %d).", i, i))
	}
	s.fixture(t, map[string]any{"rgs_existing": map[string][]string{"ApplicationServer:pool01.contoso.com": {"Help Desk"}}, "rgs_conflict_error": strings.Join(lines, "\n")})
	r = testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "pool", "--pool", "pool01.contoso.com", "--yes")
	oneLine := "Import-CsRgsConfiguration: " + strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
	_, after, _ := strings.Cut(r.Stderr, "failed (exit 1): ")
	reported, _, _ := strings.Cut(after, "…")
	if r.Code != 1 || len(reported) == 0 || len(reported) > 600 || !strings.HasPrefix(oneLine, reported) || len(reported) >= len(oneLine) || !strings.Contains(r.Stderr, truth) {
		t.Errorf("a multi-line conflict message: exit %d, reported %q\n%s", r.Code, reported, r.Stderr)
	}
}

// rgsStepOf is the number of the cms plan's Response Group step.
func rgsStepOf(t *testing.T, s *lyncSite, setID, to string) string {
	t.Helper()
	plan := testbin.MustRun(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "cms").Stdout
	m := regexp.MustCompile(`(?m)^\s*(\d+)\. \[run\] Import the Response Groups of pool `).FindStringSubmatch(plan)
	if m == nil {
		t.Fatalf("no Response Group step in the cms plan:\n%s", plan)
	}
	return m[1]
}

// TestLyncSQLLeftoverRemoved: a run killed hard leaves its SQL .bak in the
// backup folder (its cleanup never ran). The next backup removes that file,
// named the way the killed run named it (this host, instance and database,
// an earlier time; the 12 hex digits are those of host fe01, instance
// sql01.contoso.com\mon and database LcsCDR), and logs it; a .bak in the
// same folder that lyncbackup did not name (the DBA's) is kept.
func TestLyncSQLLeftoverRemoved(t *testing.T) {
	s := newLyncSite(t)
	leftover := filepath.Join(s.bak, "lyncbackup-fe01-sql01.contoso.com_mon-LcsCDR-cc15c991b8b1-20261130T021500Z-0a1b2c.bak")
	dba := filepath.Join(s.bak, "LcsCDR_full_20261130.bak")
	for _, f := range []string{leftover, dba} {
		if err := os.WriteFile(f, []byte("an earlier backup"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := testbin.Run(t, s.dir, s.env, "backup")
	if r.Code != 0 {
		t.Fatalf("backup: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("the killed run's .bak is still in the folder (%v)", err)
	}
	if b, err := os.ReadFile(dba); err != nil || string(b) != "an earlier backup" {
		t.Errorf("the DBA's .bak was touched: %q %v", b, err)
	}
	if !strings.Contains(r.Stderr, "removed the .bak an earlier run of this exporter left in read_dir") || !strings.Contains(r.Stderr, filepath.Base(leftover)) {
		t.Errorf("the removal is not logged:\n%s", r.Stderr)
	}
	if ents, _ := os.ReadDir(s.bak); len(ents) != 1 {
		t.Errorf("the folder holds %d entries after the run, want the DBA's .bak only", len(ents))
	}
}

// TestLyncScenarioKeepsNewerOnShare: a file newer on the share than in the
// set survives the copy-back unless --overwrite-newer.
func TestLyncScenarioKeepsNewerOnShare(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	f := filepath.Join(s.share, "1-WebServices-1", "m1", "content.dat")
	for _, c := range []struct {
		overwrite bool
		want      string
	}{{false, "edited after the backup"}, {true, "meeting content"}} {
		os.WriteFile(f, []byte("edited after the backup"), 0o644)
		future := time.Now().Add(time.Hour)
		os.Chtimes(f, future, future)
		args := []string{"restore", setID, "--to", to, "--run-imports", "--scenario", "filestore", "--yes"}
		if c.overwrite {
			args = append(args, "--overwrite-newer")
		}
		testbin.MustRun(t, s.dir, s.env, args...)
		if b, _ := os.ReadFile(f); string(b) != c.want {
			t.Errorf("overwrite-newer=%v: share holds %q, want %q", c.overwrite, b, c.want)
		}
	}
}

// TestLyncScenarioPool: --scenario pool (the back end lost) runs the user
// data and Response Groups of that pool only: no configuration import over
// the live CMS, no LIS, no file store. --scenario frontend (the front ends
// lost, the back end survived) runs no import at all, even with --yes.
func TestLyncScenarioPool(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	s.fixture(t, map[string]any{})
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "pool", "--yes")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if got := strings.Join(s.importsRun(t), " "); got != "Import-CsUserData Import-CsRgsConfiguration" {
		t.Errorf("the pool scenario ran %q", got)
	}
	s.fixture(t, map[string]any{})
	r = testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "frontend", "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "[manual] Deployment Wizard steps 1-4 on each front end of pool01.contoso.com that was lost") {
		t.Fatalf("frontend: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if got := s.importsRun(t); len(got) != 0 {
		t.Errorf("the frontend scenario ran %v over the surviving back end", got)
	}
	if r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "pool", "--pool", "pool09.contoso.com"); r.Code != 2 ||
		!strings.Contains(r.Stderr, "--pool pool09.contoso.com: the set holds no user data or Response Groups of that pool (it has: pool01.contoso.com)") {
		t.Errorf("unknown pool: exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestLyncAccountAndCoverage: the scheduled task refuses SYSTEM for a
// Lync config; check reports the account (not applicable off Windows) and
// what discovery found that the config leaves out.
func TestLyncAccountAndCoverage(t *testing.T) {
	s := newLyncSite(t)
	cfg := filepath.Join(s.dir, "lyncbackup.yaml")
	r := testbin.Run(t, s.dir, s.env, "schedule", "install", "--dry-run", "--for", "windows", "--config", cfg)
	if r.Code != 2 || !strings.Contains(r.Stderr, "SYSTEM reaches the network as the computer account") || !strings.Contains(r.Stderr, `give --user DOMAIN\svc`) {
		t.Errorf("SYSTEM with Lync exporters: exit %d\n%s", r.Code, r.Stderr)
	}
	// The dry run writes the task XML it names into the temporary folder.
	tmp := t.TempDir()
	r = testbin.MustRun(t, s.dir, append(append([]string{}, s.env...), "TMPDIR="+tmp, "TMP="+tmp, "TEMP="+tmp),
		"schedule", "install", "--dry-run", "--for", "windows", "--user", `CONTOSO\svc-lb`, "--config", cfg)
	if !strings.Contains(r.Stdout, `/RU CONTOSO\svc-lb /RP *`) {
		t.Errorf("named account:\n%s", r.Stdout)
	}
	disc, _ := filepath.Abs("../exporters/testdata/discovery/migration.json")
	s.fixture(t, map[string]any{"discovery_file": disc})
	r = testbin.Run(t, s.dir, s.env, "check", "--config", cfg)
	for _, w := range []string{
		`[ OK ] Lync cmdlets: Central Management store on sqlbe01.contoso.com\rtc (mirror sqlbe02.contoso.com\rtc)`,
		"[WARN] Lync discovery: pool lyncpool10.contoso.com is Lync Server 2010 (Version 5): its user data is not exported",
		`[WARN] Lync discovery: Monitoring database(s) LcsCDR, QoEMetrics on sqlmon01.contoso.com\mon are deployed but not backed up: add a sql exporter with databases: auto`,
		`[WARN] Lync discovery: Archiving database(s) LcsLog on sqlarch01.contoso.com\arch are deployed but not backed up`,
		"[ OK ] Lync groups: not applicable: Lync group membership is read from a Windows token; this is " + runtime.GOOS,
	} {
		if runtime.GOOS == "windows" && strings.Contains(w, "Lync groups") {
			// The real token is read: the test account is no Lync admin.
			w = "[FAIL] group RTCUniversalServerAdmins: "
			if !regexp.MustCompile(`\[FAIL\] group RTCUniversalServerAdmins: \S+ is not in RTCUniversalServerAdmins`).MatchString(r.Stdout) {
				t.Errorf("check does not judge the token against RTCUniversalServerAdmins:\n%s", r.Stdout)
			}
		}
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("check output lacks %q:\n%s", w, r.Stdout)
		}
	}
}

// TestLyncCoverageByLocalName: the sql exporter runs on the Monitoring
// store's SQL server and names it localhost\mon; check does not warn that
// the Monitoring databases it backs up there are deployed but not backed
// up (before, the local name never matched the FQDN discovery reports),
// and still warns of the Archiving database no exporter covers.
func TestLyncCoverageByLocalName(t *testing.T) {
	host := exporters.ThisComputer()
	if host == "" {
		t.Skip("this machine has no name of its own")
	}
	if !strings.Contains(host, ".") {
		host += ".contoso.com"
	}
	s := newLyncSite(t)
	s.editConfig(t, `instance: 'sql01.contoso.com\mon'`, `instance: 'localhost\mon'`)
	b, err := os.ReadFile("../exporters/testdata/discovery/migration.json")
	if err != nil {
		t.Fatal(err)
	}
	disc := filepath.Join(s.dir, "discovery-here.json")
	os.WriteFile(disc, []byte(strings.ReplaceAll(string(b), "sqlmon01.contoso.com", host)), 0o644)
	s.fixture(t, map[string]any{"discovery_file": disc})
	r := testbin.Run(t, s.dir, s.env, "check", "--config", filepath.Join(s.dir, "lyncbackup.yaml"))
	if strings.Contains(r.Stdout, "Monitoring database(s)") || !strings.Contains(r.Stdout, `[WARN] Lync discovery: Archiving database(s) LcsLog on sqlarch01.contoso.com\arch are deployed but not backed up`) {
		t.Errorf("check, LcsCDR and QoEMetrics backed up as localhost\\mon on %s:\n%s", host, r.Stdout)
	}
}

// TestReadmeRestorePlans: README's restore section shows the plan of each
// scenario as the binary prints it for a test deployment in the middle of
// a migration (go test ./e2e -run TestReadmeRestorePlans -update-exporters
// rewrites them).
func TestReadmeRestorePlans(t *testing.T) {
	if runtime.GOOS == "windows" { // the Windows plans: TestLyncRoundTrip's e2e-plan-windows.golden
		t.Skip("README shows the plans as rendered on Linux (/restore, /srv)")
	}
	s := newLyncSite(t)
	disc, _ := filepath.Abs("../exporters/testdata/discovery/migration.json")
	s.fixture(t, map[string]any{"discovery_file": disc})
	// The Monitoring and Archiving databases discovery finds, over TLS to a
	// self-signed back end.
	s.editConfig(t, `instance: 'sql01.contoso.com\mon', databases: [LcsCDR, QoEMetrics]`, `databases: auto, encrypt: true, trust_server_certificate: true`)
	r := testbin.Run(t, s.dir, append(s.env, "SQLCMDSTUB_SELF_SIGNED=1"), "backup", "--json")
	if r.Code != 0 {
		t.Fatalf("backup: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	setID := setIDRe.FindString(r.Stdout)
	m := s.manifest(t, setID)
	if lync, _ := m.Discovery["lync"].(map[string]any); strings.Contains(fmt.Sprint(lync["notes"]), "not backed up") {
		t.Errorf("databases: auto left databases out: %v", lync["notes"])
	}
	readmePath := filepath.Join("..", "README.md")
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range []struct{ scenario, pool string }{{"cms", "all"}, {"standard", "pool02.contoso.com"}, {"pool", "pool01.contoso.com"}, {"frontend", "pool01.contoso.com"}, {"filestore", ""}, {"sql", ""}} {
		args := []string{"restore", setID, "--from", "file://" + s.store, "--to", "/restore", "--plan", "--scenario", c.scenario}
		if c.pool != "" {
			args = append(args, "--pool", c.pool)
		}
		if c.scenario == "sql" {
			args = append(args, "--database", "all")
		}
		plan := testbin.MustRun(t, t.TempDir(), nil, args...).Stdout
		plan = strings.ReplaceAll(plan, setID, "20261125T020000Z-5e7a1c")
		for _, it := range m.Items {
			if it.Kind == "filestore" {
				plan = strings.ReplaceAll(plan, it.Name, "filestore-LyncShare")
			}
		}
		plan = strings.ReplaceAll(plan, s.dir, "/srv")
		begin, end := "<!-- plan:"+c.scenario+" -->\n```text\n", "```\n<!-- /plan:"+c.scenario+" -->"
		i, j := strings.Index(readme, begin), strings.Index(readme, end)
		if i < 0 || j < i {
			t.Errorf("README lacks the %s plan between %q and %q", c.scenario, begin, end)
			continue
		}
		if *updateExporters {
			readme = readme[:i+len(begin)] + plan + readme[j:]
		} else if readme[i+len(begin):j] != plan {
			t.Errorf("README's %s plan differs from the binary's (go test ./e2e -run TestReadmeRestorePlans -update-exporters):\n%s", c.scenario, plan)
		}
	}
	if *updateExporters {
		os.WriteFile(readmePath, []byte(readme), 0o644)
	}
}

// TestLyncScenarioAsked: on a terminal without --scenario, restore --plan
// asks what was lost and prints that loss's plan.
func TestLyncScenarioAsked(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("pseudo-terminals are tested on Linux")
	}
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	cmd := exec.Command(testbin.Path(t), "restore", setID, "--from", "file://"+filepath.ToSlash(s.store), "--to", to, "--plan")
	cmd.Dir, cmd.Env = s.dir, append(os.Environ(), "TERM=xterm")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, f); close(done) }()
	f.Write([]byte("5\n")) // read once the prompt is printed: the terminal buffers the line
	werr := cmd.Wait()
	f.Close()
	<-done
	text := strings.ReplaceAll(out.String(), "\r\n", "\n")
	if werr != nil {
		t.Fatalf("%v\n%s", werr, text)
	}
	for _, w := range []string{"What was lost? Each loss has its own procedure:\n  1. cms", "  4. frontend", "  5. filestore", "Answer 1-6 (or the name): ",
		`Microsoft's procedure: "Restoring a file store".`, "/XO"} {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "Import-CsConfiguration") {
		t.Errorf("the file store plan imports configuration:\n%s", text)
	}
}

// TestLyncForgedItemPathRefused: a set whose manifest points the file
// store's copy-back outside the restore folder (meta.share "../..", which
// made robocopy copy the folder above the restore folder, identity file
// included, to meta.store) is refused before any step runs: exit 1 naming
// the item, nothing copied.
func TestLyncForgedItemPathRefused(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	mpath := filepath.Join(s.store, "fe01", setID, "manifest.json")
	b, err := os.ReadFile(mpath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(s.dir, "theirs")
	os.MkdirAll(theirs, 0o755)
	var name string
	for _, it := range m["items"].([]any) {
		it := it.(map[string]any)
		if it["kind"] == "filestore" {
			name = it["name"].(string)
			meta := it["meta"].(map[string]any)
			meta["share"], meta["store"] = "../..", theirs
		}
	}
	if name == "" {
		t.Fatal("the set has no filestore item")
	}
	b, _ = json.Marshal(m)
	if err := os.WriteFile(mpath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s.fixture(t, map[string]any{})
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "filestore", "--yes")
	if r.Code != 1 || !strings.Contains(r.Stderr, "item "+name+": meta.share \"../..\"") || !strings.Contains(r.Stderr, "damaged or forged") {
		t.Errorf("forged meta.share: exit %d, want 1 naming %s\n%s\n%s", r.Code, name, r.Stdout, r.Stderr)
	}
	if ents, _ := os.ReadDir(theirs); len(ents) != 0 {
		t.Errorf("the forged plan copied %d entries into %s", len(ents), theirs)
	}
	if got := s.importsRun(t); len(got) != 0 {
		t.Errorf("steps ran: %v", got)
	}
}

// TestLyncCheckWithoutLyncSection: Lync exporters listed under exporters:
// with no lync: section run the cmdlets as well; check runs them too, and a
// cmdlet that fails (here Get-CsService refused) fails the check instead of
// a check that passes before every Lync export fails at night.
func TestLyncCheckWithoutLyncSection(t *testing.T) {
	s := newLyncSite(t)
	// powershell.exe (the default without lync.powershell) is the stand-in.
	bin := filepath.Join(s.dir, "bin")
	os.MkdirAll(bin, 0o755)
	ps := stubbin.PowerShell(t)
	if runtime.GOOS == "windows" {
		bin = filepath.Dir(ps) // the stand-in is powershell.exe there
	} else if err := os.Symlink(ps, filepath.Join(bin, "powershell.exe")); err != nil {
		t.Fatal(err)
	}
	site, _ := os.ReadFile(filepath.Join(s.dir, "lyncbackup.yaml"))
	enc := regexp.MustCompile(`(?m)^encryption: .*$`).FindString(string(site))
	cfg := `host: fe01
staging: ` + filepath.Join(s.dir, "staging") + `
exporters:
  - {kind: csconfig, name: csconfig}
  - {kind: userdata, name: userdata}
` + enc + `
destination: {url: 'file://` + filepath.ToSlash(s.store) + `'}
`
	path := filepath.Join(s.dir, "nolync.yaml")
	os.WriteFile(path, []byte(cfg), 0o600)
	s.fixture(t, map[string]any{"fail": map[string]string{"Get-CsService": "Access is denied."}})
	env := append(append([]string{}, s.env...), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := testbin.Run(t, s.dir, env, "check", "--config", path)
	want := "[FAIL] Lync cmdlets: "
	if runtime.GOOS != "windows" { // Wine resets %CommonProgramFiles%: there the module is not found
		want += "discovery (Get-CsService) failed (exit 1): Get-CsService: Access is denied."
	}
	if r.Code != 1 || !strings.Contains(r.Stdout, want) {
		t.Errorf("check with Lync exporters and no lync: section: exit %d, want 1 and %q\n%s\n%s", r.Code, want, r.Stdout, r.Stderr)
	}
}

// TestLyncResumeHintRuns: the "continue with:" command printed when a
// --run-imports step fails is the run's own command line, pasted as it is:
// on a DR server without a config it keeps --from (and --powershell,
// --module), the restore folder's space is quoted, and it finishes the
// plan (before, it dropped --from and left --to unquoted: exit 2).
func TestLyncResumeHintRuns(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore dir")
	setID := s.backupAndRestore(t, to)
	os.Rename(filepath.Join(s.dir, "lyncbackup.yaml"), filepath.Join(s.dir, "old.yaml"))
	mod := filepath.Join(s.dir, "Common Files", "Skype for Business Server 2015", "Modules", "SkypeForBusiness", "SkypeForBusiness.psd1")
	from := "file://" + filepath.ToSlash(s.store)
	s.fixture(t, map[string]any{"fail": map[string]string{"Import-CsLisConfiguration": "Cannot connect to the LIS database."}})
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--from", from, "--to", to, "--run-imports", "--scenario", "cms", "--yes",
		"--powershell", stubbin.PowerShell(t), "--module", mod)
	m := regexp.MustCompile(`continue with: lyncbackup (.*)`).FindStringSubmatch(r.Stderr)
	if r.Code != 1 || m == nil {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	args := pastedArgs(t, m[1])
	if strings.Join(args, "\x00") == strings.Join(strings.Fields(m[1]), "\x00") {
		t.Errorf("the restore folder %q is not quoted in %s", to, m[1])
	}
	s.fixture(t, map[string]any{})
	if r2 := testbin.Run(t, s.dir, s.env, args...); r2.Code != 0 {
		t.Errorf("the printed continue command fails: exit %d\n%s\n%s", r2.Code, m[1], r2.Stderr)
	}
	// cms imports no database (the Persistent Chat data is --scenario sql's).
	if got := strings.Join(s.importsRun(t), " "); got != "Import-CsLisConfiguration Import-CsRgsConfiguration" {
		t.Errorf("the continued run ran %q, want the failed step and those after it", got)
	}
}

// pastedArgs splits a command line as the shell it was printed for reads
// it: POSIX single quotes (a quote as close, backslash-quote, reopen) off
// Windows; double quotes, or PowerShell's single quotes (a quote doubled)
// on Windows.
func pastedArgs(t *testing.T, line string) []string {
	var args []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ':
			if in {
				args = append(args, cur.String())
				cur.Reset()
				in = false
			}
			continue
		case c == '\'':
			j := i + 1
			for ; j < len(line); j++ {
				if line[j] == '\'' {
					if runtime.GOOS == "windows" && j+1 < len(line) && line[j+1] == '\'' {
						cur.WriteByte('\'')
						j++
						continue
					}
					break
				}
				cur.WriteByte(line[j])
			}
			if j == len(line) {
				t.Fatalf("unterminated quote in %s", line)
			}
			i = j
		case c == '"' && runtime.GOOS == "windows":
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				t.Fatalf("unterminated quote in %s", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
		case c == '\\' && runtime.GOOS != "windows" && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		default:
			cur.WriteByte(c)
		}
		in = true
	}
	if in {
		args = append(args, cur.String())
	}
	return args
}

// TestLyncScenarioCMSLeavesSurvivingFileStore: a set of two file stores;
// the Central Management store's back end was lost, the second site's
// file store survived (a file was deleted there since the backup).
// restore --run-imports --scenario cms --yes does not copy the backup back
// over it; --filestore with cms chooses the one that was lost.
func TestLyncScenarioCMSLeavesSurvivingFileStore(t *testing.T) {
	s := newLyncSite(t)
	share2 := s.secondFileStore(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	deleted := filepath.Join(share2, "1-WebServices-1", "m2", "slides.dat")
	os.Remove(deleted) // deleted on the surviving share after the backup
	s.fixture(t, map[string]any{})
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--yes")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(deleted); err == nil {
		t.Errorf("--scenario cms copied the backup over the surviving file store %s: %s is back (ran %v)", share2, deleted, s.importsRun(t))
	}
	r = testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "cms", "--filestore", s.share)
	if r.Code != 0 || !strings.Contains(r.Stdout, "' '"+s.share+"' /E") || strings.Contains(r.Stdout, "' '"+share2+"' /E") {
		t.Errorf("--scenario cms --filestore %s: exit %d\n%s\n%s", s.share, r.Code, r.Stdout, r.Stderr)
	}
}

// TestLyncScenarioCMSWithDatabase: the Central Management store's server
// was lost and its SQL instance hosted the Persistent Chat store too:
// restore --run-imports --scenario cms --database mgc creates and imports
// it in the same run (Microsoft's procedure ends with the database
// restores), after the Response Groups; LcsCDR and QoEMetrics, not named,
// stay as they are and are listed as not restored. --database with a
// scenario that restores no database is one line saying what to run.
func TestLyncScenarioCMSWithDatabase(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	s.fixture(t, map[string]any{})
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--database", "mgc", "--yes")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	got := strings.Join(s.importsRun(t), " ")
	if !strings.HasSuffix(got, "Import-CsRgsConfiguration Install-CsDatabase Import-CsPersistentChatData") || !strings.HasPrefix(got, "Import-CsConfiguration ") {
		t.Errorf("cms --database mgc ran %q, want the cms imports, then Install-CsDatabase and Import-CsPersistentChatData", got)
	}
	if !regexp.MustCompile(`step \d+ \[manual\] Databases not restored: sql-sql01\.contoso\.com_mon-LcsCDR, sql-sql01\.contoso\.com_mon-QoEMetrics\n`).MatchString(r.Stdout) {
		t.Errorf("the databases not named are not listed as not restored:\n%s", r.Stdout)
	}
	plan := testbin.MustRun(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "cms", "--database", "LcsCDR", "--json").Stdout
	var pd struct {
		Options struct {
			Databases []string `json:"databases"`
		} `json:"options"`
	}
	if err := json.Unmarshal([]byte(plan), &pd); err != nil || strings.Join(pd.Options.Databases, ",") != "sql-sql01.contoso.com_mon-LcsCDR" || !strings.Contains(plan, "RESTORE DATABASE [LcsCDR]") || strings.Contains(plan, "Import-CsPersistentChatData -DBInstance") {
		t.Errorf("cms --database LcsCDR --json: options.databases %v (%v)\n%s", pd.Options.Databases, err, plan)
	}
	before := len(s.calls(t))
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "pool", "--database", "mgc", "--yes"), 2,
		"--database is for --scenario sql (or cms, with the Central Management store's server); --scenario pool restores no database: restore a lost one afterwards with --scenario sql --database NAME")
	if n := len(s.calls(t)) - before; n != 0 {
		t.Errorf("a refused run made %d PowerShell calls", n)
	}
}

// TestLyncScenarioCMSDatabaseOnAnotherServer: the Monitoring databases
// are on a SQL server of their own (sqlmon09), which the loss of the
// Central Management store's server (sql01, as discovery recorded it) did
// not take: --scenario cms --database LcsCDR is refused in one line (exit
// 2, no PowerShell call) pointing at --scenario sql, and --database all
// restores only the database on sql01 (mgc), listing the others as not
// restored. Before, both put a RESTORE … REPLACE of the live LcsCDR on
// sqlmon09 into the plan.
func TestLyncScenarioCMSDatabaseOnAnotherServer(t *testing.T) {
	s := newLyncSite(t)
	s.editConfig(t, `instance: 'sql01.contoso.com\mon'`, `instance: 'sqlmon09.contoso.com\mon'`)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	s.fixture(t, map[string]any{})
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--database", "LcsCDR", "--yes"), 2,
		`--database LcsCDR: sql-sqlmon09.contoso.com_mon-LcsCDR is on sqlmon09.contoso.com\mon, not on the Central Management store's SQL server (sql01.contoso.com), which --scenario cms rebuilds; if that SQL server was lost too, restore it with --scenario sql --database LcsCDR`)
	if n := len(s.calls(t)); n != 0 {
		t.Errorf("a refused run made %d PowerShell calls", n)
	}
	r := testbin.MustRun(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "cms", "--database", "all")
	if strings.Contains(r.Stdout, "sqlcmd -S 'sqlmon09") || !strings.Contains(r.Stdout, "Import-CsPersistentChatData -DBInstance 'sql01.contoso.com\\mgc'") ||
		!regexp.MustCompile(`\[manual\] Databases not restored: sql-sqlmon09\.contoso\.com_mon-LcsCDR, sql-sqlmon09\.contoso\.com_mon-QoEMetrics\n`).MatchString(r.Stdout) {
		t.Errorf("cms --database all, LcsCDR and QoEMetrics on sqlmon09:\n%s", r.Stdout)
	}
}

// TestLyncScenarioCMSDatabaseOnTheBackupsComputer: the backup ran on the
// Central Management store's SQL server itself, and the config names its
// Monitoring instance localhost\mon. The set records the computer the
// backup ran on (discovery's lync.computer), so --scenario cms --database
// LcsCDR restores that database (before, it was refused with exit 2 as
// "not on the Central Management store's SQL server"). The same config
// on a computer that is not the store's server is still refused, saying
// which computer localhost was.
func TestLyncScenarioCMSDatabaseOnTheBackupsComputer(t *testing.T) {
	host := exporters.ThisComputer()
	if host == "" {
		t.Skip("this machine has no name of its own")
	}
	// The store's server, as the topology names it: this computer's FQDN
	// (off Windows, lyncbackup may know only the host name: the first
	// labels match).
	cms := host
	if !strings.Contains(cms, ".") {
		cms += ".contoso.com"
	}
	s := newLyncSite(t)
	orig, _ := filepath.Abs("../exporters/testdata/discovery/onepool.json")
	b, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	here := strings.Replace(string(b), `"BackEndServer": "sql01.contoso.com\\rtc"`, `"BackEndServer": "`+cms+`\\rtc"`, 1)
	if here == string(b) {
		t.Fatal("the discovery fixture's store location changed: update this test")
	}
	disc := filepath.Join(s.dir, "discovery-here.json")
	os.WriteFile(disc, []byte(here), 0o644)
	s.editConfig(t, `instance: 'sql01.contoso.com\mon'`, `instance: 'localhost\mon'`)
	to := filepath.Join(s.dir, "restore")

	s.fixture(t, map[string]any{"discovery_file": disc, "discovery_encoding": "utf16le"})
	setID := s.backupAndRestore(t, to)
	lync, _ := s.manifest(t, setID).Discovery["lync"].(map[string]any)
	computer, _ := lync["computer"].(string)
	if first, _, _ := strings.Cut(computer, "."); !strings.EqualFold(first, strings.Split(host, ".")[0]) {
		t.Errorf("discovery records the computer %q, want this one (%s)", computer, host)
	}
	r := testbin.Run(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "cms", "--database", "LcsCDR")
	if r.Code != 0 || !strings.Contains(r.Stdout, "RESTORE DATABASE [LcsCDR]") || !strings.Contains(r.Stdout, `sqlcmd -S 'localhost\mon'`) {
		t.Errorf("cms --database LcsCDR, backed up as localhost\\mon on the store's server %s: exit %d\n%s\n%s", cms, r.Code, r.Stdout, r.Stderr)
	}
	// The command keeps the local name, which on the computer the plan is
	// run on names that computer: the step says which one it stood for.
	note := `# localhost\mon is a local name, local to the computer the backup ran on: ` + computer + ` (lync.computer). Run on another computer, localhost names that computer instead: run this step on ` + computer + `, or replace localhost with its FQDN.`
	if !strings.Contains(r.Stdout, note) {
		t.Errorf("the restore of localhost\\mon does not say which computer localhost was (want %q):\n%s", note, r.Stdout)
	}

	// The store on sql01.contoso.com, which this computer is not.
	disc0, _ := filepath.Abs("../exporters/testdata/discovery/onepool.json")
	s.fixture(t, map[string]any{"discovery_file": disc0, "discovery_encoding": "utf16le"})
	elsewhere := s.backupAndRestore(t, filepath.Join(s.dir, "restore2"))
	s.fixture(t, map[string]any{})
	failsWith(t, testbin.Run(t, s.dir, s.env, "restore", elsewhere, "--to", filepath.Join(s.dir, "restore2"), "--plan", "--scenario", "cms", "--database", "LcsCDR"), 2,
		`--database LcsCDR: sql-localhost_mon-LcsCDR is on localhost\mon (the computer the backup ran on, `+computer+`), not on the Central Management store's SQL server (sql01.contoso.com), which --scenario cms rebuilds; if that SQL server was lost too, restore it with --scenario sql --database LcsCDR`)
}

// secondFileStore adds a second file store (another site's share, holding
// 1-WebServices-1/m2/slides.dat) to the site's config, and returns it.
func (s *lyncSite) secondFileStore(t *testing.T) string {
	t.Helper()
	share2 := filepath.Join(s.dir, "Dublin", "LyncShare")
	os.MkdirAll(filepath.Join(share2, "1-WebServices-1", "m2"), 0o755)
	os.WriteFile(filepath.Join(share2, "1-WebServices-1", "m2", "slides.dat"), []byte("dublin content"), 0o644)
	cfgPath := filepath.Join(s.dir, "lyncbackup.yaml")
	cfg, _ := os.ReadFile(cfgPath)
	two := strings.Replace(string(cfg), "filestores: ['"+s.share+"']", "filestores: ['"+s.share+"', '"+share2+"']", 1)
	if two == string(cfg) {
		t.Fatal("the site's file store list changed: update this test")
	}
	os.WriteFile(cfgPath, []byte(two), 0o600)
	return share2
}
