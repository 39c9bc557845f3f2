package exporters

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/lyncbackup/lyncbackup/config"
)

// sqlExporter backs up one database with sqlcmd:
// BACKUP DATABASE [db] TO DISK=N'…' WITH COPY_ONLY, CHECKSUM, INIT.
// COPY_ONLY keeps the DBA's own backup chain intact; CHECKSUM makes SQL
// Server verify every page; INIT makes the (uniquely named) file hold
// exactly one backup. SQL Server writes the file into backup_dir (its
// view); the tool reads it from read_dir (ours) and deletes it once stored.
type sqlExporter struct {
	// host is the config's host: in the .bak's name, so that a run only
	// ever removes its own host's leftovers (removeLeftovers).
	host               string
	name, instance, db string
	backupDir, readDir string
	exe                string
	user, passwordEnv  string
	trustCert, encrypt bool
	timeout            time.Duration
	// started is when this run built its exporters: a .bak of this
	// exporter named with an earlier time is a killed run's leftover.
	started time.Time
}

func init() { buildKind["sql"] = buildSQL }

func buildSQL(ctx context.Context, s *session, idx int, e config.Exporter) ([]Exporter, error) {
	key := fmt.Sprintf("exporters[%d]", idx)
	inst := e.Instance
	if inst == "" {
		inst = "."
	}
	if err := checkPSValue("instance", inst); err != nil {
		return nil, &config.Error{Key: key + ".instance", Msg: err.Error()}
	}
	rd := e.ReadDir
	if rd == "" {
		rd = e.BackupDir
	}
	type target struct{ instance, db string }
	var targets []target
	if e.Databases.Auto() {
		// The Monitoring and Archiving databases the topology has.
		if _, err := s.discover(ctx); err != nil {
			return []Exporter{&failExporter{name: e.Name, kind: "sql", err: fmt.Errorf("sql databases: auto: %w", err)}}, nil
		}
		for _, st := range s.lyncInfo().SQLStores {
			for _, db := range st.Databases {
				targets = append(targets, target{st.Instance, db})
			}
		}
		if len(targets) == 0 {
			s.lyncInfo().Notes = append(s.lyncInfo().Notes, fmt.Sprintf("exporter %s (databases: auto): Get-CsService finds no Monitoring or Archiving database: nothing to back up", e.Name))
		}
	} else {
		for _, db := range e.Databases {
			targets = append(targets, target{inst, db})
		}
	}
	var out []Exporter
	started := time.Now().UTC()
	for _, t := range targets {
		if err := checkPSValue("instance", t.instance); err != nil {
			return nil, &config.Error{Key: key + ".instance", Msg: err.Error()}
		}
		if err := checkPSValue("database name", t.db); err != nil || utf16Len(t.db) > 128 {
			return nil, &config.Error{Key: key + ".databases", Msg: fmt.Sprintf("%q is not a SQL Server database name", t.db)}
		}
		s.cover(t.instance, t.db)
		out = append(out, &sqlExporter{
			host: s.cfg.Host, started: started,
			name: s.uniqueName(e.Name + "-" + safeName(t.instance) + "-" + safeName(t.db)), instance: t.instance, db: t.db,
			backupDir: e.BackupDir, readDir: rd, exe: sqlcmdExe(s.cfg, e), user: e.User, passwordEnv: e.PasswordEnv,
			trustCert: e.TrustServerCertificate, encrypt: e.Encrypt,
			timeout: s.timeout("sql", e),
		})
	}
	return out, nil
}

// utf16Len is a name's length as SQL Server counts it (sysname is
// nvarchar(128): UTF-16 code units, not bytes).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// sqlCover is a database a sql exporter backs up: its server (lower case,
// no protocol prefix or port: sqlLocation; a local name such as
// localhost, ".", "(local)", 127.0.0.1 or ::1 is the computer the backup
// runs on, ThisComputer, and stays as it is when that is not known, so
// that it matches no server discovery names; a DNS root dot is left out),
// instance and database.
type sqlCover struct{ host, instance, db string }

func newSQLCover(location, db, computer string) sqlCover {
	h, i, _ := strings.Cut(strings.ToLower(sqlLocation(location)), `\`)
	h, i = strings.TrimSpace(h), strings.TrimSpace(i)
	if isLocalSQLName(h) && computer != "" {
		h = strings.ToLower(strings.TrimSpace(computer))
	}
	return sqlCover{strings.TrimSuffix(h, "."), i, strings.ToLower(db)}
}

// covers reports whether c and d are the same database: the same instance
// and name, on the same server, which is the same FQDN, or the same first
// label where either side has no dot (sql01 and sql01.contoso.com are one
// server; sql01.contoso.com and sql01.fabrikam.com are two).
func (c sqlCover) covers(d sqlCover) bool {
	if c.instance != d.instance || c.db != d.db || c.host == "" || d.host == "" {
		return false
	}
	if c.host == d.host {
		return true
	}
	if strings.Contains(c.host, ".") && strings.Contains(d.host, ".") {
		return false
	}
	return strings.SplitN(c.host, ".", 2)[0] == strings.SplitN(d.host, ".", 2)[0]
}

// cover records that a sql exporter backs up db on instance.
func (s *session) cover(instance, db string) {
	s.covered = append(s.covered, newSQLCover(instance, db, ThisComputer()))
}

// checkCoverage notes the Monitoring / Archiving databases deployed but
// not backed up by any sql exporter of this config.
func (s *session) checkCoverage() {
	if s.info == nil {
		return
	}
	for i := range s.info.SQLStores {
		st := &s.info.SQLStores[i]
		st.Uncovered = nil
		for _, db := range st.Databases {
			want := newSQLCover(st.Instance, db, ThisComputer())
			if !slices.ContainsFunc(s.covered, want.covers) {
				st.Uncovered = append(st.Uncovered, db)
			}
		}
		if len(st.Uncovered) > 0 {
			s.info.Notes = append(s.info.Notes, UncoveredNote(*st))
		}
	}
}

// UncoveredNote says which deployed databases no sql exporter backs up.
func UncoveredNote(st SQLStoreInfo) string {
	what := "Monitoring"
	if st.Role == "ArchivingDatabase" {
		what = "Archiving"
	}
	return fmt.Sprintf("%s database(s) %s on %s are deployed but not backed up: add a sql exporter with databases: auto (or list them)", what, strings.Join(st.Uncovered, ", "), st.Instance)
}

func (x *sqlExporter) Name() string { return x.name }
func (x *sqlExporter) Kind() string { return "sql" }

// SQLIdent quotes a T-SQL identifier: [name] with ] doubled.
func SQLIdent(s string) string { return "[" + strings.ReplaceAll(s, "]", "]]") + "]" }

// SQLString quotes a T-SQL Unicode string literal: N'…' with ' doubled.
func SQLString(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }

// BackupQuery is the statement run for one database.
func BackupQuery(db, path string) string {
	return "BACKUP DATABASE " + SQLIdent(db) + " TO DISK=" + SQLString(path) + " WITH COPY_ONLY, CHECKSUM, INIT"
}

// joinServerPath joins a file name to a folder as SQL Server sees it
// (usually a Windows path, whatever this machine is).
func joinServerPath(dir, file string) string {
	sep := "/"
	if strings.Contains(dir, `\`) || (len(dir) >= 2 && dir[1] == ':') {
		sep = `\`
	}
	return strings.TrimRight(dir, `\/`) + sep + file
}

// sqlcmdArgs are the arguments for one backup. -b: exit non-zero on an
// error; -r1: messages to stderr (shown in the error); -x: no $(var)
// substitution in the query (a name may hold "$("); -E: Windows auth.
func (x *sqlExporter) sqlcmdArgs(query string) []string {
	args := []string{"-S", x.instance, "-d", "master", "-b", "-r1", "-x", "-l", "30"}
	if x.user != "" {
		args = append(args, "-U", x.user)
	} else {
		args = append(args, "-E")
	}
	return append(append(args, x.tlsArgs()...), "-Q", query)
}

// tlsArgs are sqlcmd's -N (encrypt) and -C (trust the server certificate).
func (x *sqlExporter) tlsArgs() []string {
	var a []string
	if x.encrypt {
		a = append(a, "-N")
	}
	if x.trustCert {
		a = append(a, "-C")
	}
	return a
}

// bakStamp is the time in a .bak's name (UTC, to the second).
const bakStamp = "20060102T150405Z"

// bakPrefix begins the name of every .bak this exporter has SQL Server
// write: lyncbackup-<host>-<instance>-<db>-<id>-, then the run's time
// (bakStamp), 6 random hex digits and .bak. The readable part is for the
// DBA; <id>, 12 hex digits of the SHA-256 of host, instance and database
// joined with NUL, is what tells exporters apart: names hold '-' too
// (host "fe01" with instance `dr-sql01\mon` reads as host "fe01-dr" with
// `sql01\mon`) and safeName writes '$', '#' and '\' alike, so the
// readable part alone let one exporter remove another's leftovers. A
// readable part longer than fits (names of 255 characters at most, on
// Windows too: maxBakPrefix) keeps its beginning; the same exporter names
// its files alike run after run.
func (x *sqlExporter) bakPrefix() string {
	sum := sha256.Sum256([]byte(x.host + "\x00" + x.instance + "\x00" + x.db))
	id := "-" + hex.EncodeToString(sum[:6]) + "-"
	p := "lyncbackup-" + safeName(x.host) + "-" + safeName(x.instance) + "-" + safeName(x.db)
	if len(p) > maxBakPrefix-len(id) {
		p = p[:maxBakPrefix-len(id)]
	}
	return p + id
}

// leftoverAge is how much older than this run a .bak must be named to be
// a leftover: runs of one exporter may overlap (nothing stops a second run
// of the same config), and an overlapping run's .bak, between SQL Server
// finishing it and that run opening it, is not a leftover. A nightly run
// killed last night is removed by tonight's run.
const leftoverAge = 12 * time.Hour

// maxBakPrefix leaves room for the time, the random part and .bak.
const maxBakPrefix = 200

// bakTail is what follows bakPrefix in such a name.
var bakTail = regexp.MustCompile(`^(\d{8}T\d{6}Z)-[0-9a-f]{6}\.bak$`)

// removeLeftovers removes from read_dir the .bak files that runs of this
// exporter (this host, instance and database) named and could not remove
// themselves: a run killed hard (kill -9, power loss) never reaches its
// item's Cleanup, and no later run wrote to the same name, so the share
// filled night after night. Only regular files named exactly bakPrefix +
// bakTail with a time over leftoverAge before this run started are
// removed, each logged;
// anything else in the folder (another host's, another database's, the
// DBA's own .bak) is left alone. A file still open elsewhere (SQL Server
// writing it, a run reading it) cannot be removed on Windows: a warning.
func (x *sqlExporter) removeLeftovers(log *slog.Logger) {
	ents, err := os.ReadDir(x.readDir)
	if err != nil {
		return // the backup names the folder's problem
	}
	prefix := x.bakPrefix()
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		m := bakTail.FindStringSubmatch(rest)
		if m == nil {
			continue
		}
		at, err := time.Parse(bakStamp, m[1])
		if err != nil || !at.Before(x.started.Truncate(time.Second).Add(-leftoverAge)) {
			continue
		}
		p := filepath.Join(x.readDir, e.Name())
		if err := os.Remove(p); err != nil {
			if log != nil {
				log.Warn("could not remove the .bak an earlier run of this exporter left in read_dir", "exporter", x.name, "file", p, "err", err)
			}
			continue
		}
		if log != nil {
			log.Info("removed the .bak an earlier run of this exporter left in read_dir (killed before its cleanup)", "exporter", x.name, "file", p, "written", at.Format(time.RFC3339))
		}
	}
}

func (x *sqlExporter) Export(ctx context.Context, env Env) ([]Item, error) {
	x.removeLeftovers(env.Log)
	var suffix [3]byte
	rand.Read(suffix[:])
	file := x.bakPrefix() + time.Now().UTC().Format(bakStamp) + "-" + hex.EncodeToString(suffix[:]) + ".bak"
	serverPath := joinServerPath(x.backupDir, file)
	localPath := filepath.Join(x.readDir, file)
	cmdEnv := os.Environ()
	if x.user != "" {
		pw := os.Getenv(x.passwordEnv)
		if pw == "" {
			return nil, fmt.Errorf("sql %s: environment variable %s (the password of SQL login %s) is empty", x.db, x.passwordEnv, x.user)
		}
		// sqlcmd reads SQLCMDPASSWORD: the password never shows in a
		// process listing.
		cmdEnv = append(withoutEnv(cmdEnv, "SQLCMDPASSWORD"), "SQLCMDPASSWORD="+pw)
	}
	what := fmt.Sprintf("sqlcmd BACKUP DATABASE %s on %s", x.db, x.instance)
	if _, err := runProgram(ctx, what, x.timeout, timeoutAdvice, x.exe, x.sqlcmdArgs(BackupQuery(x.db, serverPath)), cmdEnv, 64<<10); err != nil {
		os.Remove(localPath)
		return nil, err
	}
	fi, err := os.Stat(localPath)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: SQL Server reported success, but %s is not readable here (backup_dir %s and read_dir %s must be the same folder, seen from SQL Server and from this machine)", what, localPath, x.backupDir, x.readDir)
	}
	root := safeName(x.instance) + "-" + safeName(x.db) + ".bak"
	meta := map[string]string{"instance": x.instance, "db": x.db, "file": root}
	if x.trustCert {
		meta["trust_server_certificate"] = "true"
	}
	if x.encrypt {
		meta["encrypt"] = "true"
	}
	// The database's files and where they were, for RESTORE … WITH MOVE on
	// a server whose paths differ; best effort (the plan says how to list
	// them from the .bak when this is missing).
	if out, err := runProgram(ctx, what+" (file list)", 2*time.Minute, "the file list is given at most 2 minutes", x.exe, x.filesArgs(), cmdEnv, 64<<10); err == nil {
		if f := parseFileList(DecodeText(out)); f != "" {
			meta["files"] = f
		}
	}
	return []Item{{
		Name: x.name, Kind: "sql", Roots: []Root{{Path: localPath, Name: root}},
		Meta:    meta,
		Cleanup: func() error { return os.Remove(localPath) },
	}}, nil
}

// FileListQuery lists a database's logical file names and paths.
func FileListQuery(db string) string {
	return "SET NOCOUNT ON; SELECT name + N'|' + physical_name FROM sys.master_files WHERE database_id = DB_ID(" + SQLString(db) + ")"
}

func (x *sqlExporter) filesArgs() []string {
	args := x.sqlcmdArgs(FileListQuery(x.db))
	// -h -1: no column header; -W: no padding.
	return append(args[:len(args)-2:len(args)-2], "-h", "-1", "-W", "-Q", args[len(args)-1])
}

// parseFileList keeps the "logical|physical" lines of sqlcmd's output,
// one per line.
func parseFileList(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		name, path, ok := strings.Cut(l, "|")
		if !ok || name == "" || path == "" || strings.ContainsAny(l, "\x00") {
			continue
		}
		lines = append(lines, name+"|"+path)
	}
	return strings.Join(lines, "\n")
}

func withoutEnv(env []string, key string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(strings.ToUpper(kv), strings.ToUpper(key)+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func init() {
	restorers["sql"] = func(it PlanItem, pc *planCtx) []Step {
		f := itemFile(pc.dir, it, it.Meta["file"])
		db, inst := it.Meta["db"], it.Meta["instance"]
		// In master: a login whose default database is the one restored
		// would hold it with its own connection, and the restore would
		// wait for exclusive access it never gets.
		sqlcmd := "sqlcmd -S " + PSQuote(inst) + " -d master -E -b -x"
		if it.Meta["encrypt"] == "true" {
			sqlcmd += " -N"
		}
		if it.Meta["trust_server_certificate"] == "true" {
			sqlcmd += " -C"
		}
		q := func(t string) string { return sqlcmd + " -Q " + PSQuote(t) }
		notes := append(localNameNotes(pc.info, inst), "Copy the .bak where SQL Server can read it first if this folder is not on the SQL server.")
		switch strings.ToLower(db) {
		case "lcslog", "lcscdr", "qoemetrics":
			notes = append(notes, "First stop what writes to "+db+" (Stop-CsWindowsService on the servers whose Monitoring / Archiving goes to "+inst+"); SINGLE_USER WITH ROLLBACK IMMEDIATE then gives the restore exclusive access.")
		case "mgc":
			notes = append(notes, "First stop the Persistent Chat services (Stop-CsWindowsService -Name RTCCHAT on each Persistent Chat server).")
		default:
			notes = append(notes, "First stop the services that use "+db+"; SINGLE_USER WITH ROLLBACK IMMEDIATE then gives the restore exclusive access.")
		}
		restore := "RESTORE DATABASE " + SQLIdent(db) + " FROM DISK=" + SQLString(f) + " WITH CHECKSUM, REPLACE"
		var cmds []string
		if files := strings.TrimSpace(it.Meta["files"]); files != "" {
			for _, l := range strings.Split(files, "\n") {
				name, path, _ := strings.Cut(l, "|")
				restore += ", MOVE " + SQLString(name) + " TO " + SQLString(path)
			}
			notes = append(notes, "WITH MOVE puts each file where it was; change the paths if this server's data and log folders differ.")
		} else {
			cmds = append(cmds, q("RESTORE FILELISTONLY FROM DISK="+SQLString(f)))
			notes = append(notes, "The set does not record the database's files: when this server's data and log folders differ from the old one's, add MOVE N'<logical name>' TO N'<new path>' for each file RESTORE FILELISTONLY lists.")
		}
		// One batch, one session: the single connection SINGLE_USER leaves
		// is this one. In three sqlcmd runs, any client could take it
		// between the first and the restore ("Exclusive access could not
		// be obtained").
		cmds = append(cmds,
			q("IF DB_ID("+SQLString(db)+") IS NOT NULL ALTER DATABASE "+SQLIdent(db)+" SET SINGLE_USER WITH ROLLBACK IMMEDIATE; "+
				restore+"; ALTER DATABASE "+SQLIdent(db)+" SET MULTI_USER"))
		notes = append(notes, "If the restore fails, the database stays in single-user mode: ALTER DATABASE "+SQLIdent(db)+" SET MULTI_USER.")
		switch strings.ToLower(db) {
		case "lcslog", "lcscdr", "qoemetrics":
			notes = append(notes, "Afterwards the user RTCComponentUniversalServices must hold the ServerRole role in "+db+"; then start the services again.")
		default:
			notes = append(notes, "Then start the services again.")
		}
		return []Step{{Phase: 12, Title: fmt.Sprintf("Restore SQL database %s on %s", db, inst), Commands: cmds, Notes: notes}}
	}
}
