// Command psstub stands in for powershell.exe in tests. It accepts only
// the arguments lyncbackup's runner passes, decodes -EncodedCommand,
// records the script (PSSTUB_DIR/calls/NNNN.ps1), checks its error
// handling, and acts like the Lync cmdlet it calls: writes a realistic
// export (a zip holding DocItemSet.xml, topology XML), prints discovery
// JSON, or fails as PSSTUB_DIR/fixture.json asks (non-zero exit with
// stderr text, a hang past the timeout, a missing module).
package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/psstub/psparse"
)

// Fixture drives the stand-in.
type Fixture struct {
	// DiscoveryFile is printed for the discovery script.
	DiscoveryFile string `json:"discovery_file"`
	// DiscoveryEncoding: utf8 (default), utf8bom or utf16le (with BOM).
	DiscoveryEncoding string `json:"discovery_encoding"`
	// Fail: when the script contains the key, fail (exit 1) with the value
	// as the error's Exception.Message, printed as the house script prints
	// it: led by "Command-Name: " (the key when it is a command name, else
	// the first command on the line holding it) when the script's catch
	// names the command.
	Fail map[string]string `json:"fail"`
	// Hang: when the script contains one of these, start a child and sleep.
	Hang []string `json:"hang"`
	// ModuleMissing: Import-Module fails.
	ModuleMissing bool `json:"module_missing"`
	// NoFile: succeed without writing the export.
	NoFile []string `json:"no_file"`
	// RgsWorkflows: the workflows Export-CsRgsConfiguration writes into
	// its export (default: one, "Help Desk").
	RgsWorkflows []string `json:"rgs_workflows"`
	// RgsExisting: per Response Group service ("ApplicationServer:FQDN",
	// as -Destination names it), the workflows it already holds: importing
	// an export that holds one of them fails as the real cmdlet does on a
	// name conflict, unless -ResolveNameConflicts (then it is renamed).
	RgsExisting map[string][]string `json:"rgs_existing"`
	// RgsConflictError: what such a failed import prints on stderr
	// (default: the stand-in's own words, saying so). Microsoft publishes
	// only that a name conflict makes the import fail ("Planning for
	// response group disaster recovery in Lync Server 2013"), not the
	// cmdlet's message: tests set their own text and check that
	// lyncbackup quotes it, whatever it says.
	RgsConflictError string `json:"rgs_conflict_error"`
}

// die prints one error and exits: the stand-in's own refusals, and errors
// whose record names no command (a throw in the script, a .NET method's
// exception, a command that is not found), printed as the house script's
// catch prints them (exporters.PowerShell.Script): $_.Exception.Message.
// The position lines the console's error view adds never reach lyncbackup.
func die(code int, format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(code)
}

// namesCommand is set when the script's catch puts the failing command's
// name in front of the message ($_.InvocationInfo.MyCommand.Name + ': ').
var namesCommand bool

// cmdFail fails as a cmdlet's own error does (its WriteError or
// ThrowTerminatingError, its parameter binding, Import-Module's refusal):
// the error record's InvocationInfo.MyCommand is the cmdlet, so the house
// script prints "Cmdlet-Name: message"; a catch that does not name the
// command prints the message alone.
func cmdFail(cmdlet, format string, a ...any) {
	if namesCommand && cmdlet != "" {
		format = cmdlet + ": " + format
	}
	die(1, format, a...)
}

// commandName matches a PowerShell command name (Verb-Noun).
var commandName = regexp.MustCompile(`^[A-Za-z]+-[A-Za-z0-9]+$`)

// failingCommand is the command a fixture's "fail" key stands for: the key
// itself when it is a command name, else the first command on the code line
// holding it ("" when none: the message is printed alone).
func failingCommand(script, key string) string {
	if commandName.MatchString(key) {
		return key
	}
	for _, l := range strings.Split(script, "\n") {
		if !strings.Contains(l, key) {
			continue
		}
		for _, f := range strings.Fields(l) {
			if commandName.MatchString(f) {
				return f
			}
		}
		return ""
	}
	return ""
}

func main() {
	if os.Getenv("PSSTUB_CHILD") == "1" {
		time.Sleep(time.Hour)
		return
	}
	dir := os.Getenv("PSSTUB_DIR")
	if dir == "" {
		die(2, "psstub: PSSTUB_DIR is not set")
	}
	want := []string{"-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand"}
	args := os.Args[1:]
	if len(args) != len(want)+1 {
		die(2, "psstub: unexpected arguments %q", args)
	}
	for i, w := range want {
		if args[i] != w {
			die(2, "psstub: argument %d is %q, want %q", i, args[i], w)
		}
	}
	script, err := exporters.DecodeCommand(args[len(want)])
	if err != nil {
		die(2, "psstub: bad -EncodedCommand: %v", err)
	}
	var fx Fixture
	if b, err := os.ReadFile(filepath.Join(dir, "fixture.json")); err == nil {
		if err := json.Unmarshal(b, &fx); err != nil {
			die(2, "psstub: fixture.json: %v", err)
		}
	}
	record(dir, script)
	namesCommand = strings.Contains(script, "$_.InvocationInfo.MyCommand.Name + ': '")

	// What a real run needs: errors stop the script and reach stderr.
	code, _, ok := psparse.Split(script)
	if !ok {
		die(2, "psstub: unterminated string literal in script")
	}
	for _, need := range []string{"$ErrorActionPreference = 'Stop'", "try {", "} catch {", "[Console]::Error.WriteLine(", "exit 1"} {
		if !strings.Contains(script, need) {
			die(2, "psstub: script lacks %q", need)
		}
	}
	if mod, ok := psparse.Param(script, "Name"); ok && strings.Contains(code, "Import-Module") {
		if fx.ModuleMissing {
			cmdFail("Import-Module", "The specified module '%s' was not loaded because no valid module file was found in any module directory.", mod)
		}
	}
	for k, msg := range fx.Fail {
		if strings.Contains(script, k) {
			cmdFail(failingCommand(script, k), "%s", msg)
		}
	}
	for _, k := range fx.Hang {
		if strings.Contains(script, k) {
			hang(dir)
		}
	}
	noFile := false
	for _, k := range fx.NoFile {
		if strings.Contains(script, k) {
			noFile = true
		}
	}

	switch {
	case strings.Contains(code, "Get-LbService UserServer"):
		discovery(fx)
	case strings.Contains(code, "Get-CsTopology -AsXml"):
		out, ok := psparse.FirstLiteralAfter(script, "WriteAllText(")
		if !ok {
			die(2, "psstub: topology script writes no file")
		}
		if !noFile {
			writeNew(out, []byte(topologyXML))
		}
	case strings.Contains(code, "Export-Cs"):
		exportCmdlet(dir, script, code, noFile, fx)
	case strings.Contains(code, "robocopy "):
		robocopy(script)
	case strings.Contains(code, "Install-CsDatabase "):
		installDatabase(code)
	case strings.Contains(code, "Import-Cs"):
		restoreStep(script, code, fx)
	}
	os.Exit(0)
}

// product is the Lync / SfB version whose module the script imports.
func product(script string) string {
	mod, _ := psparse.Param(script, "Name")
	for _, p := range []string{"2013", "2015", "2019"} {
		if strings.Contains(mod, "Server "+p) {
			return p
		}
	}
	return ""
}

// cmdletLine returns the code line that calls cmdlet ("" if none).
func cmdletLine(code, cmdlet string) string {
	for _, l := range strings.Split(code, "\n") {
		if strings.Contains(l, cmdlet+" ") {
			return l
		}
	}
	return ""
}

// restoreStep acts like the cmdlets of a restore step: their parameters
// as Microsoft's reference lists them, and the prompts a non-interactive
// session cannot answer.
func restoreStep(script, code string, fx Fixture) {
	const nonInteractive = "Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."
	// A command that is not found: its error record has no MyCommand
	// (the message names it), so the house script prints it bare.
	if strings.Contains(code, "Start-CsPool") && product(script) == "2013" {
		die(1, "The term 'Start-CsPool' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.")
	}
	for _, c := range []string{"Import-CsLisConfiguration", "Import-CsPersistentChatData"} {
		if l := cmdletLine(code, c); l != "" && strings.Contains(l, "-Force") {
			cmdFail(c, "A parameter cannot be found that matches parameter name 'Force'.")
		}
	}
	// Import-CsConfiguration and Import-CsUserData prompt on non-fatal
	// errors unless -Force; Import-CsPersistentChatData asks to confirm.
	for c, need := range map[string]string{"Import-CsConfiguration": "-Force", "Import-CsUserData": "-Force", "Import-CsPersistentChatData": "-Confirm:$false"} {
		if l := cmdletLine(code, c); l != "" && !strings.Contains(l, need) {
			cmdFail(c, "%s", nonInteractive)
		}
	}
	f, ok := psparse.Param(script, "FileName")
	if !ok {
		die(2, "psstub: Import without -FileName")
	}
	if _, err := os.Stat(f); err != nil {
		cmdFail(failingCommand(code, "-FileName"), "Cannot find path '%s' because it does not exist.", f)
	}
	if l := cmdletLine(code, "Import-CsRgsConfiguration"); l != "" {
		importRgs(script, l, f, fx)
	}
}

// importRgs acts like Import-CsRgsConfiguration: the parameters
// Microsoft's reference lists (no -Source: that is the export's), and a
// workflow name the destination already holds fails the import unless
// -ResolveNameConflicts.
func importRgs(script, line, file string, fx Fixture) {
	checkParams("Import-CsRgsConfiguration", line, "-Destination", "-FileName", "-Force", "-OverwriteOwner", "-ReplaceExistingRgsSettings", "-ResolveNameConflicts")
	dest := rgsIdentity("Import-CsRgsConfiguration", script, "Destination", false)
	existing := fx.RgsExisting[dest]
	if len(existing) == 0 || strings.Contains(line, "-ResolveNameConflicts") {
		return
	}
	for _, w := range exportedWorkflows(file) {
		for _, e := range existing {
			if strings.EqualFold(w, e) {
				if fx.RgsConflictError != "" {
					cmdFail("Import-CsRgsConfiguration", "%s", fx.RgsConflictError)
				}
				cmdFail("Import-CsRgsConfiguration", "psstub (its own words, not the cmdlet's): Import-CsRgsConfiguration: name conflict: the workflow \"%s\" exists in service:%s", w, dest)
			}
		}
	}
}

// exportedWorkflows lists the workflow names in an export the stand-in
// wrote (none for a file that is not one).
func exportedWorkflows(file string) []string {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil
	}
	defer zr.Close()
	var out []string
	for _, f := range zr.File {
		if f.Name != "DocItemSet.xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		for _, part := range strings.Split(string(b), "<Workflow ")[1:] {
			if i := strings.Index(part, `Name="`); i >= 0 {
				n := part[i+6:]
				out = append(out, html.UnescapeString(n[:strings.Index(n, `"`)]))
			}
		}
	}
	return out
}

// installDatabase refuses what Install-CsDatabase refuses: parameters of
// two parameter sets (ByCMS -CentralManagementDatabase, ByDatabase
// -DatabaseType, ByConfigured -ConfiguredDatabases, ByLocal
// -LocalDatabases), -SqlInstanceName outside ByCMS / ByDatabase, a
// -DatabaseType that is not one of Microsoft's, -Clean with -Update.
func installDatabase(code string) {
	types := map[string]bool{"ActiveMonitoring": true, "Application": true, "Archiving": true, "CentralMgmt": true, "Edge": true, "Lyss": true,
		"Monitoring": true, "PersistentChat": true, "PersistentChatCompliance": true, "Provision": true, "Registrar": true, "SigninTelemetry": true, "User": true}
	for _, l := range strings.Split(code, "\n") {
		if !strings.Contains(l, "Install-CsDatabase ") {
			continue
		}
		fields := strings.Fields(l[strings.Index(l, "Install-CsDatabase "):])
		has := func(p string) bool {
			for _, f := range fields {
				if strings.EqualFold(f, p) {
					return true
				}
			}
			return false
		}
		sets := 0
		for _, p := range []string{"-CentralManagementDatabase", "-DatabaseType", "-ConfiguredDatabases", "-LocalDatabases"} {
			if has(p) {
				sets++
			}
		}
		if sets != 1 {
			cmdFail("Install-CsDatabase", "Parameter set cannot be resolved using the specified named parameters.")
		}
		if has("-SqlInstanceName") && !has("-CentralManagementDatabase") && !has("-DatabaseType") {
			cmdFail("Install-CsDatabase", "Parameter set cannot be resolved using the specified named parameters.")
		}
		if !has("-LocalDatabases") && !has("-SqlServerFqdn") {
			cmdFail("Install-CsDatabase", "Cannot process command because of one or more missing mandatory parameters: SqlServerFqdn.")
		}
		if has("-Clean") && has("-Update") {
			cmdFail("Install-CsDatabase", "You cannot use both Clean and Update in the same command.")
		}
		for i, f := range fields {
			if strings.EqualFold(f, "-DatabaseType") && (i+1 >= len(fields) || !types[fields[i+1]]) {
				v := ""
				if i+1 < len(fields) {
					v = fields[i+1]
				}
				cmdFail("Install-CsDatabase", "Cannot bind parameter 'DatabaseType'. Cannot convert value \"%s\" to type \"DatabaseNameType\".", v)
			}
		}
	}
}

// robocopy copies the tree as robocopy SRC DST /E does; with /XO a file
// that is newer at the destination is left alone.
func robocopy(script string) {
	_, lits, _ := psparse.Split(script)
	code, _, _ := psparse.Split(script)
	line := cmdletLine(code, "robocopy")
	if len(lits) < 2 || line == "" {
		die(2, "psstub: robocopy without source and destination")
	}
	var src, dst string
	// The literals of the robocopy line: the first two after the module path.
	for i, l := range lits {
		if strings.HasSuffix(l, ".psd1") && i+2 < len(lits) {
			src, dst = lits[i+1], lits[i+2]
		}
	}
	if src == "" {
		src, dst = lits[0], lits[1]
	}
	xo := strings.Contains(line, "/XO")
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if xo {
			if st, err := os.Stat(to); err == nil && st.ModTime().After(fi.ModTime()) {
				return nil
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return err
		}
		return os.Chtimes(to, fi.ModTime(), fi.ModTime())
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR : %v\n", err)
		os.Exit(16) // robocopy: fatal error
	}
}

func record(dir, script string) {
	calls := filepath.Join(dir, "calls")
	os.MkdirAll(calls, 0o755)
	for i := 1; ; i++ {
		f, err := os.OpenFile(filepath.Join(calls, fmt.Sprintf("%04d.ps1", i)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.WriteString(script)
			f.Close()
			return
		}
		if !os.IsExist(err) {
			die(2, "psstub: record: %v", err)
		}
	}
}

func hang(dir string) {
	self, _ := os.Executable()
	c := exec.Command(self)
	c.Env = append(os.Environ(), "PSSTUB_CHILD=1")
	c.Stdout, c.Stderr = os.Stdout, os.Stderr // hold the pipes, as a stuck helper would
	if err := c.Start(); err == nil {
		os.WriteFile(filepath.Join(dir, "child.pid"), []byte(strconv.Itoa(c.Process.Pid)), 0o644)
	}
	time.Sleep(time.Hour)
	os.Exit(0)
}

func discovery(fx Fixture) {
	if fx.DiscoveryFile == "" {
		die(1, "psstub: no discovery fixture")
	}
	b, err := os.ReadFile(fx.DiscoveryFile)
	if err != nil {
		die(2, "psstub: %v", err)
	}
	switch fx.DiscoveryEncoding {
	case "utf8bom":
		b = append([]byte{0xEF, 0xBB, 0xBF}, b...)
	case "utf16le":
		u := utf16.Encode([]rune(string(b)))
		out := []byte{0xFF, 0xFE}
		for _, c := range u {
			out = append(out, byte(c), byte(c>>8))
		}
		b = out
	}
	os.Stdout.Write(b)
}

// writeNew refuses an existing file, as the Lync export cmdlets do.
func writeNew(path string, data []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if os.IsExist(err) {
			die(1, "The file '%s' already exists.", path)
		}
		die(1, "Could not find a part of the path '%s'.", path)
	}
	if _, err := f.Write(data); err != nil {
		die(1, "%v", err)
	}
	f.Close()
}

// RgsRemovedFile, in PSSTUB_DIR, records each Export-CsRgsConfiguration
// -RemoveExportedConfiguration (one line: source, owner, workflows, tab
// separated): the real cmdlet deletes what it exported, so a backup must
// never pass it and the test harnesses fail a test that did, unless it
// runs a failback on purpose.
const RgsRemovedFile = "rgs_removed.txt"

// checkParams refuses a parameter the cmdlet on line has not (the common
// parameters aside), as PowerShell's binder does.
func checkParams(cmdlet, line string, known ...string) {
	for _, f := range strings.Fields(line[strings.Index(line, cmdlet+" "):]) {
		if !strings.HasPrefix(f, "-") || strings.HasPrefix(f, "-ErrorAction") {
			continue
		}
		ok := false
		for _, k := range known {
			ok = ok || strings.EqualFold(f, k)
		}
		if !ok {
			cmdFail(cmdlet, "A parameter cannot be found that matches parameter name '%s'.", strings.TrimPrefix(f, "-"))
		}
	}
}

// rgsIdentity reads an RgsIdentity parameter naming a Response Group
// service ("ApplicationServer:FQDN", "service:" in front allowed; a bare
// FQDN where bare is set, as Microsoft's -Owner example gives it) and
// returns it as "ApplicationServer:FQDN"; anything else fails binding.
// Export-CsRgsConfiguration's -Source is checked for its prefix only: the
// quoting tests hand it a hostile pool name verbatim.
func rgsIdentity(cmdlet, script, param string, bare bool) string {
	v, ok := psparse.Param(script, param)
	id := strings.TrimPrefix(v, "service:")
	if bare && !strings.Contains(id, ":") {
		id = "ApplicationServer:" + id
	}
	pool := strings.TrimPrefix(id, "ApplicationServer:")
	// The pool is an FQDN: "ApplicationServer:ApplicationServer:pool02…"
	// (a prefix given twice) names no service of the topology.
	if !ok || !strings.HasPrefix(id, "ApplicationServer:") || pool == "" || (param != "Source" && strings.ContainsAny(pool, ":\\/ ")) {
		cmdFail(cmdlet, "Cannot bind parameter '%s': %q is not a service identity.", param, v)
	}
	return id
}

func exportCmdlet(dir, script, code string, noFile bool, fx Fixture) {
	out, ok := psparse.Param(script, "FileName")
	if !ok {
		die(2, "psstub: export without -FileName")
	}
	var cmdlet string
	for _, c := range []string{"Export-CsConfiguration", "Export-CsLisConfiguration", "Export-CsUserData", "Export-CsRgsConfiguration", "Export-CsPersistentChatData"} {
		if strings.Contains(code, c+" ") {
			cmdlet = c
		}
	}
	files := map[string]string{}
	switch cmdlet {
	case "Export-CsConfiguration":
		files["DocItemSet.xml"] = docItemSet("urn:xds:Microsoft.Rtc.Management.Xds.2008:TopologyConfiguration", "Topology")
		files["MetaData.xml"] = `<?xml version="1.0" encoding="utf-8"?><MetaData Version="6.0.0.0" />`
	case "Export-CsLisConfiguration":
		files["DocItemSet.xml"] = docItemSet("urn:lis:Microsoft.Rtc.Management.Lis.2010:LisLocation", "Location")
	case "Export-CsUserData":
		pool, ok := psparse.Param(script, "PoolFqdn")
		if !ok {
			die(2, "psstub: Export-CsUserData without -PoolFqdn")
		}
		files["DocItemSet.xml"] = docItemSet("urn:hcd:"+xmlEscape(pool), "HomedResource")
		files["UserData.xml"] = `<?xml version="1.0" encoding="utf-8"?><HomedResources Pool="` + xmlEscape(pool) + `" />`
	case "Export-CsRgsConfiguration":
		// Microsoft's reference: -FileName -Source [-Force] [-Owner]
		// [-RemoveExportedConfiguration].
		line := cmdletLine(code, cmdlet)
		checkParams(cmdlet, line, "-FileName", "-Source", "-Force", "-Owner", "-RemoveExportedConfiguration")
		src := rgsIdentity(cmdlet, script, "Source", false)
		owner := ""
		if strings.Contains(line, "-Owner ") {
			owner = rgsIdentity(cmdlet, script, "Owner", true)
		}
		wfs := fx.RgsWorkflows
		if len(wfs) == 0 {
			wfs = []string{"Help Desk"}
		}
		var data strings.Builder
		for _, w := range wfs {
			data.WriteString(`<Workflow xmlns="urn:schema:Microsoft.Rtc.Rgs.Management.WritableSettings.2008" Name="` + xmlEscape(w) + `" />`)
		}
		files["DocItemSet.xml"] = docItemSetData("urn:rgs:"+xmlEscape(src), data.String())
		if strings.Contains(line, "-RemoveExportedConfiguration") {
			// Deletes from the source what it exported (after the
			// export is written, below).
			defer recordRgsRemoval(dir, src, owner, wfs)
		}
	case "Export-CsPersistentChatData":
		if _, ok := psparse.Param(script, "DBInstance"); !ok {
			die(2, "psstub: Export-CsPersistentChatData without -DBInstance")
		}
		files["DocItemSet.xml"] = docItemSet("urn:mgc:chat", "Category")
	default:
		die(1, "psstub: unknown export cmdlet in script")
	}
	if noFile {
		return
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if os.IsExist(err) {
			cmdFail(cmdlet, "The file '%s' already exists.", out)
		}
		cmdFail(cmdlet, "Could not find a part of the path '%s'.", out)
	}
	zw := zip.NewWriter(f)
	for _, name := range []string{"DocItemSet.xml", "MetaData.xml", "UserData.xml"} {
		if body, ok := files[name]; ok {
			w, _ := zw.Create(name)
			w.Write([]byte(body))
		}
	}
	if err := zw.Close(); err != nil {
		die(1, "%v", err)
	}
	f.Close()
}

// recordRgsRemoval appends to RgsRemovedFile what -RemoveExportedConfiguration
// deleted.
func recordRgsRemoval(dir, src, owner string, wfs []string) {
	f, err := os.OpenFile(filepath.Join(dir, RgsRemovedFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		die(2, "psstub: %v", err)
	}
	fmt.Fprintf(f, "%s\t%s\t%s\n", src, owner, strings.Join(wfs, ","))
	f.Close()
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	return r.Replace(s)
}

func docItemSet(name, kind string) string {
	return docItemSetData(name, `<`+kind+` xmlns="urn:schema:Microsoft.Rtc.Management.Settings.2008" />`)
}

func docItemSetData(name, data string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<DocItemSet xmlns="urn:schema:Microsoft.Rtc.Management.Deploy.DocItemSet.2008" Version="1">
  <DocItem Name="` + name + `" Version="1">
    <Data>` + data + `</Data>
  </DocItem>
</DocItemSet>
`
}

const topologyXML = `<?xml version="1.0" encoding="utf-8"?>
<Topology xmlns="urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008">
  <InternalDomains AllowAllDomains="false" DefaultDomain="contoso.com"><InternalDomain Name="contoso.com" Authoritative="false" AllowSubDomains="false" /></InternalDomains>
  <Sites><CentralSite SiteId="1"><Name>Redmond</Name></CentralSite></Sites>
  <Clusters><Cluster RequiresReplication="true" RequiresSetup="true" Fqdn="pool01.contoso.com"><ClusterId SiteId="1" Number="1" /></Cluster></Clusters>
</Topology>
`
