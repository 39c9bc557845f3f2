// Command sqlcmdstub stands in for sqlcmd in tests. It accepts the
// arguments lyncbackup passes, parses the BACKUP DATABASE statement the
// way T-SQL quotes it ([db] with ]] and N'…' with ”), and writes a fake
// .bak where SQL Server would. Env:
//
//	SQLCMDSTUB_DIR     calls.log (one JSON line per call) is written here
//	SQLCMDSTUB_MAP     "SERVERPREFIX=>LOCALPREFIX": where the server path lands here
//	SQLCMDSTUB_FAIL    comma-separated databases that fail (Msg 911)
//	SQLCMDSTUB_PASSWORD the password a SQL login must have (SQLCMDPASSWORD)
//	SQLCMDSTUB_SELF_SIGNED=1  the server's certificate is self-signed: as
//	                   sqlcmd on ODBC Driver 18, refuse the login without -C
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var filesRe = regexp.MustCompile(`^SET NOCOUNT ON; SELECT name \+ N'\|' \+ physical_name FROM sys.master_files WHERE database_id = DB_ID\(N'((?:[^']|'')+)'\)$`)

var backupRe = regexp.MustCompile(`^BACKUP DATABASE \[((?:[^\]]|\]\])+)\] TO DISK=N'((?:[^']|'')+)' WITH COPY_ONLY, CHECKSUM, INIT$`)

type call struct {
	Args        []string `json:"args"`
	Instance    string   `json:"instance"`
	DB          string   `json:"db"`
	Path        string   `json:"path"`
	Integrated  bool     `json:"integrated"`
	User        string   `json:"user,omitempty"`
	PasswordEnv bool     `json:"password_env"`
}

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

func main() {
	args := os.Args[1:]
	c := call{Args: args}
	flags := map[string]bool{}
	var query string
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 >= len(args) {
				die("Sqlcmd: '%s': Missing argument.", a)
			}
			i++
			return args[i]
		}
		switch a {
		case "-S":
			c.Instance = next()
		case "-d", "-l", "-h":
			next()
		case "-U":
			c.User = next()
		case "-Q":
			query = next()
		case "-E":
			c.Integrated = true
		case "-b", "-r1", "-x", "-W", "-C", "-N":
			flags[a] = true
		default:
			die("Sqlcmd: '%s': Unknown Option.", a)
		}
	}
	for _, f := range []string{"-b", "-r1", "-x"} {
		if !flags[f] {
			die("sqlcmdstub: lyncbackup must pass %s", f)
		}
	}
	if os.Getenv("SQLCMDSTUB_SELF_SIGNED") == "1" && !flags["-C"] {
		die("Sqlcmd: Error: Microsoft ODBC Driver 18 for SQL Server : SSL Provider: The certificate chain was issued by an authority that is not trusted.\nSqlcmd: Error: Microsoft ODBC Driver 18 for SQL Server : Client unable to establish connection.")
	}
	pw := os.Getenv("SQLCMDPASSWORD")
	c.PasswordEnv = pw != ""
	if c.User != "" {
		for _, a := range args {
			if pw != "" && strings.Contains(a, pw) {
				die("sqlcmdstub: the password is on the command line")
			}
		}
		if want := os.Getenv("SQLCMDSTUB_PASSWORD"); pw == "" || (want != "" && pw != want) {
			die("Msg 18456, Level 14, State 1, Server %s, Line 1\nLogin failed for user '%s'.", c.Instance, c.User)
		}
	} else if !c.Integrated {
		die("sqlcmdstub: neither -E nor -U")
	}
	if m := filesRe.FindStringSubmatch(query); m != nil {
		// The database's files, as sys.master_files lists them.
		db := strings.ReplaceAll(m[1], "''", "'")
		if !flags["-W"] {
			die("sqlcmdstub: a file list without -W is padded")
		}
		fmt.Printf("%s|D:\\SQLData\\%s.mdf\n%s_log|E:\\SQLLogs\\%s_log.ldf\n", db, db, db, db)
		return
	}
	m := backupRe.FindStringSubmatch(query)
	if m == nil {
		die("Msg 102, Level 15, State 1, Server %s, Line 1\nIncorrect syntax near '%s'.", c.Instance, query)
	}
	c.DB = strings.ReplaceAll(m[1], "]]", "]")
	c.Path = strings.ReplaceAll(m[2], "''", "'")
	if d := os.Getenv("SQLCMDSTUB_DIR"); d != "" {
		b, _ := json.Marshal(c)
		f, err := os.OpenFile(filepath.Join(d, "calls.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err == nil {
			f.Write(append(b, '\n'))
			f.Close()
		}
	}
	for _, bad := range strings.Split(os.Getenv("SQLCMDSTUB_FAIL"), ",") {
		if bad != "" && bad == c.DB {
			die("Msg 911, Level 16, State 11, Server %s, Line 1\nDatabase '%s' does not exist. Make sure that the name is entered correctly.\nMsg 3013, Level 16, State 1, Server %s, Line 1\nBACKUP DATABASE is terminating abnormally.", c.Instance, c.DB, c.Instance)
		}
	}
	local := c.Path
	if mp := os.Getenv("SQLCMDSTUB_MAP"); mp != "" {
		from, to, _ := strings.Cut(mp, "=>")
		if !strings.HasPrefix(local, from) {
			die("Msg 3201, Level 16, State 1, Server %s, Line 1\nCannot open backup device '%s'. Operating system error 3(The system cannot find the path specified.).", c.Instance, c.Path)
		}
		local = filepath.Join(to, filepath.FromSlash(strings.ReplaceAll(strings.TrimPrefix(local, from), `\`, "/")))
	}
	body := fmt.Sprintf("TAPE\x00fake SQL Server backup of [%s] on %s\n", c.DB, c.Instance)
	if err := os.WriteFile(local, []byte(strings.Repeat(body, 64)), 0o644); err != nil {
		die("Msg 3201, Level 16, State 1, Server %s, Line 1\nCannot open backup device '%s'. Operating system error 5(Access is denied.).", c.Instance, c.Path)
	}
	fmt.Printf("Processed 512 pages for database '%s', file '%s' on file 1.\nBACKUP DATABASE successfully processed 514 pages in 0.050 seconds (80.312 MB/sec).\n", c.DB, c.DB)
}
