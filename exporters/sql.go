package exporters

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

// sqlExporter backs up one database with sqlcmd:
// BACKUP DATABASE [db] TO DISK=N'…' WITH COPY_ONLY, CHECKSUM, INIT.
// COPY_ONLY keeps the DBA's own backup chain intact; CHECKSUM makes SQL
// Server verify every page; INIT makes the (uniquely named) file hold
// exactly one backup. SQL Server writes the file into backup_dir (its
// view); the tool reads it from read_dir (ours) and deletes it once stored.
type sqlExporter struct {
	name, instance, db string
	backupDir, readDir string
	exe                string
	user, passwordEnv  string
	timeout            time.Duration
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
	var out []Exporter
	for _, db := range e.Databases {
		if err := checkPSValue("database name", db); err != nil || len(db) > 128 {
			return nil, &config.Error{Key: key + ".databases", Msg: fmt.Sprintf("%q is not a SQL Server database name", db)}
		}
		out = append(out, &sqlExporter{
			name: s.uniqueName(e.Name + "-" + safeName(inst) + "-" + safeName(db)), instance: inst, db: db,
			backupDir: e.BackupDir, readDir: rd, exe: sqlcmdExe(s.cfg, e), user: e.User, passwordEnv: e.PasswordEnv,
			timeout: s.timeout("sql", e),
		})
	}
	return out, nil
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
	return append(args, "-Q", query)
}

func (x *sqlExporter) Export(ctx context.Context, env Env) ([]Item, error) {
	var suffix [3]byte
	rand.Read(suffix[:])
	file := fmt.Sprintf("lyncbackup-%s-%s-%s-%s.bak", safeName(x.instance), safeName(x.db), time.Now().UTC().Format("20060102T150405Z"), hex.EncodeToString(suffix[:]))
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
	if _, err := runProgram(ctx, what, x.timeout, x.exe, x.sqlcmdArgs(BackupQuery(x.db, serverPath)), cmdEnv, 64<<10); err != nil {
		os.Remove(localPath)
		return nil, err
	}
	fi, err := os.Stat(localPath)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: SQL Server reported success, but %s is not readable here (backup_dir %s and read_dir %s must be the same folder, seen from SQL Server and from this machine)", what, localPath, x.backupDir, x.readDir)
	}
	root := safeName(x.instance) + "-" + safeName(x.db) + ".bak"
	return []Item{{
		Name: x.name, Kind: "sql", Roots: []Root{{Path: localPath, Name: root}},
		Meta:    map[string]string{"instance": x.instance, "db": x.db, "file": root},
		Cleanup: func() error { return os.Remove(localPath) },
	}}, nil
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
	restorers["sql"] = func(it PlanItem, dir string, _ *LyncInfo) []Step {
		f := itemFile(dir, it, it.Meta["file"])
		db, inst := it.Meta["db"], it.Meta["instance"]
		notes := []string{"Copy the .bak where SQL Server can read it first if this folder is not on the SQL server."}
		switch strings.ToLower(db) {
		case "lcslog", "lcscdr", "qoemetrics":
			notes = append(notes, "Afterwards the user RTCComponentUniversalServices must hold the ServerRole role in "+db+".")
		}
		q := "RESTORE DATABASE " + SQLIdent(db) + " FROM DISK=" + SQLString(f) + " WITH CHECKSUM, REPLACE"
		return []Step{{Phase: 12, Title: fmt.Sprintf("Restore SQL database %s on %s", db, inst),
			Commands: []string{"sqlcmd -S " + PSQuote(inst) + " -E -b -x -Q " + PSQuote(q)}, Notes: notes}}
	}
}
