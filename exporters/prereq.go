package exporters

import (
	"context"
	"fmt"
	"github.com/lyncbackup/lyncbackup/internal/diskfree"
	"github.com/lyncbackup/lyncbackup/internal/netdrive"
	"github.com/lyncbackup/lyncbackup/internal/oserr"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/progress"
)

// Prereq is one thing a backup needs on this machine, checked without
// running any export (for `lyncbackup check`).
type Prereq struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Warn: not a failure, but something to look at.
	Warn   bool   `json:"warn,omitempty"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// lyncKinds are the exporters that run Lync cmdlets through PowerShell.
var lyncKinds = []string{"csconfig", "topology", "lis", "userdata", "rgs", "persistentchat"}

// AllLyncKinds is what `lync: {exporters: all}` may turn on.
var AllLyncKinds = []string{"csconfig", "topology", "lis", "userdata", "rgs", "persistentchat", "filestore"}

func isLyncKind(k string) bool { return containsStr(lyncKinds, k) }

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// usesPowerShell reports whether the config runs any Lync cmdlet
// (exports, or discovery: for file stores without paths and for the
// Monitoring and Archiving databases of a sql exporter's databases: auto).
func usesPowerShell(cfg *config.Config) bool {
	for _, e := range cfg.Exporters {
		if isLyncKind(e.Kind) || (e.Kind == "filestore" && len(e.Paths) == 0) || (e.Kind == "sql" && e.Databases.Auto()) {
			return true
		}
	}
	return cfg.Lync != nil && len(cfg.Lync.Exporters) > 0
}

// UsesLync reports whether the config runs Lync cmdlets (which need a
// member of RTCUniversalServerAdmins: SYSTEM cannot run them).
func UsesLync(cfg *config.Config) bool { return usesPowerShell(cfg) }

// PowerShellExe is the configured PowerShell program.
func PowerShellExe(cfg *config.Config) string {
	if cfg != nil && cfg.Lync != nil && cfg.Lync.PowerShell != "" {
		return cfg.Lync.PowerShell
	}
	return "powershell.exe"
}

func sqlcmdExe(cfg *config.Config, e config.Exporter) string {
	if e.Sqlcmd != "" {
		return e.Sqlcmd
	}
	if cfg.Lync != nil && cfg.Lync.Sqlcmd != "" {
		return cfg.Lync.Sqlcmd
	}
	return "sqlcmd"
}

// configModule finds the Lync / SfB module the config asks for (its
// lync.product and lync.module, else probed): its path and product id.
func configModule(cfg *config.Config) (path, id string, err error) {
	if cfg.Lync != nil {
		return ModulePath(cfg.Lync.Product, cfg.Lync.Module)
	}
	return ModulePath("", "")
}

// Prerequisites checks, without exporting anything, what the configured
// exporters need: programs on PATH, the Lync module, folders, secrets in
// the environment. Nothing here needs Lync rights; CheckLync does.
func Prerequisites(cfg *config.Config) []Prereq {
	var out []Prereq
	add := func(p Prereq) { out = append(out, p) }

	add(checkStaging(cfg.Staging, cfg.Format != "archive"))
	if p, ok := mappedDrives(cfg); ok {
		add(p)
	}

	if usesPowerShell(cfg) {
		exe := PowerShellExe(cfg)
		if p, err := exec.LookPath(exe); err != nil {
			add(Prereq{Name: "PowerShell", Detail: fmt.Sprintf("%s not found", exe), Fix: "set lync.powershell to the full path of powershell.exe"})
		} else {
			add(Prereq{Name: "PowerShell", OK: true, Detail: p})
		}
		path, prod, err := configModule(cfg)
		switch {
		case err != nil:
			add(Prereq{Name: "Lync module", Detail: err.Error(), Fix: "run on a Front End / Standard Edition server, or set lync.module and lync.product"})
		default:
			p, _ := ProductByID(prod)
			if _, serr := os.Stat(path); serr != nil {
				add(Prereq{Name: "Lync module", Detail: fmt.Sprintf("%s: %v", path, unwrapPathErr(serr)), Fix: "set lync.module to the module's .psd1 path"})
			} else {
				add(Prereq{Name: "Lync module", OK: true, Detail: p.Name + ": " + path})
			}
			// lync.exporters: all leaves Persistent Chat out where the
			// product has none; only a persistentchat named in the config
			// is wrong there.
			if !p.PersistentChat && wantsKind(cfg, "persistentchat", false) {
				add(Prereq{Name: "Persistent Chat", Detail: p.Name + " has no Persistent Chat", Fix: "remove the persistentchat exporter (back up the mgc database with a sql exporter if it still exists)"})
			}
		}
		add(Prereq{Name: "Lync rights", OK: true, Detail: "the account must be in RTCUniversalServerAdmins (and CsPersistentChatAdministrator for Persistent Chat); a scheduled task also needs \"Log on as a batch job\"; `lyncbackup check` proves it by running a cmdlet"})
	}

	for i, e := range cfg.Exporters {
		key := fmt.Sprintf("exporters[%d] %s", i, e.Name)
		switch e.Kind {
		case "sql":
			exe := sqlcmdExe(cfg, e)
			if p, err := exec.LookPath(exe); err != nil {
				add(Prereq{Name: key + ": sqlcmd", Detail: fmt.Sprintf("%s not found", exe), Fix: "install the SQL Server command line utilities or set sqlcmd: to its full path"})
			} else {
				add(Prereq{Name: key + ": sqlcmd", OK: true, Detail: p})
			}
			if e.PasswordEnv != "" {
				if os.Getenv(e.PasswordEnv) == "" {
					add(Prereq{Name: key + ": SQL password", Detail: fmt.Sprintf("environment variable %s is empty", e.PasswordEnv), Fix: "set it in the scheduled task's environment"})
				} else {
					add(Prereq{Name: key + ": SQL password", OK: true, Detail: "from " + e.PasswordEnv})
				}
			}
			rd := e.ReadDir
			if rd == "" {
				rd = e.BackupDir
			}
			add(checkDirWritable(key+": backup folder", rd, "the folder (read_dir, or backup_dir when it is the same) must exist and be writable by SQL Server's service account and readable by this tool"))
		case "command":
			if len(e.Command) > 0 {
				if p, err := exec.LookPath(e.Command[0]); err != nil {
					add(Prereq{Name: key + ": program", Detail: fmt.Sprintf("%s not found", e.Command[0]), Fix: "give the program's full path"})
				} else {
					add(Prereq{Name: key + ": program", OK: true, Detail: p})
				}
			}
		case "path", "filestore":
			for _, p := range e.Paths {
				if err := checkReadable(p); err != nil {
					add(Prereq{Name: key, Detail: err.Error(), Fix: "check the path and this account's read access"})
				} else {
					add(Prereq{Name: key, OK: true, Detail: p + " readable"})
				}
			}
		}
	}
	if cfg.Lync != nil {
		for _, fs := range cfg.Lync.FileStores {
			if fs == "auto" {
				continue
			}
			if err := checkReadable(fs); err != nil {
				add(Prereq{Name: "file store " + fs, Detail: err.Error(), Fix: "give this account read access to the share"})
			} else {
				add(Prereq{Name: "file store " + fs, OK: true, Detail: "readable"})
			}
		}
	}
	return out
}

// CheckLync proves that the account can load the module and read the
// topology (it needs RTCUniversalServerAdmins rights for that): it runs
// the discovery a backup runs, and reports what the backup would leave
// out (Lync 2010 pools, Monitoring / Archiving databases no sql exporter
// covers) as warnings.
func CheckLync(ctx context.Context, cfg *config.Config) []Prereq {
	if _, _, err := configModule(cfg); err != nil {
		return []Prereq{{Name: "Lync cmdlets", Detail: err.Error(), Fix: "set lync.module and lync.product"}}
	}
	// Build as a backup would (nothing runs: exporters only run in
	// Export); discovery runs once, also when no exporter needed it.
	s := &session{cfg: cfg, env: Env{Staging: cfg.Staging}, disc: Discovery{}}
	exps, err := s.build(ctx)
	if err != nil {
		return []Prereq{{Name: "Lync exporters", Detail: err.Error(), Fix: "fix the key named above"}}
	}
	ran := s.discDone
	if _, err := s.discover(ctx); err != nil {
		return []Prereq{{Name: "Lync cmdlets", Detail: err.Error(), Fix: "run as a member of RTCUniversalServerAdmins on a server with the Lync / SfB admin tools"}}
	}
	if !ran {
		s.checkCoverage()
	}
	info := s.lyncInfo()
	detail := "Central Management store on " + orUnknownStr(info.ConfigStore)
	if info.ConfigStoreMirror != "" {
		detail += " (mirror " + info.ConfigStoreMirror + ")"
	}
	detail += fmt.Sprintf("; %d exporter(s) to run", len(exps))
	out := []Prereq{{Name: "Lync cmdlets", OK: true, Detail: detail}}
	for _, n := range info.Notes {
		out = append(out, Prereq{Name: "Lync discovery", Warn: true, Detail: n})
	}
	return out
}

func orUnknownStr(s string) string {
	if s == "" {
		return "(not found)"
	}
	return s
}

// wantsKind reports whether the config turns on exporter kind k
// (explicitly, or through lync.exporters; withAll counts "all").
func wantsKind(cfg *config.Config, k string, withAll bool) bool {
	for _, e := range cfg.Exporters {
		if e.Kind == k {
			return true
		}
	}
	if cfg.Lync == nil {
		return false
	}
	if cfg.Lync.Exporters.All() {
		return withAll
	}
	return containsStr(cfg.Lync.Exporters, k)
}

// makeStaging is os.MkdirAll (tests put the errors of a share whose
// server is away in its place: Wine gives none).
var makeStaging = os.MkdirAll

func checkStaging(dir string, chunked bool) Prereq {
	p := Prereq{Name: "staging folder"}
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "lyncbackup-staging")
	}
	if err := makeStaging(dir, 0o700); err != nil {
		p.Detail, p.Fix = fmt.Sprintf("%s: %v", dir, unwrapPathErr(err)), "set staging: to a folder this account may write (on a disk with room for the largest export)"
		if oserr.NetPathDown(err) {
			// The folder may well be there, with the host's chunk key:
			// another staging folder would cost a full upload.
			p.Fix = "make the share's server reachable from this machine (or its name resolvable): the staging folder holds the host's chunk key, and another folder would mean a new key and every chunk uploaded again"
		}
		return p
	}
	if err := diskfree.ProbeWrite(dir); err != nil {
		p.Detail, p.Fix = fmt.Sprintf("%s: %v", dir, unwrapPathErr(err)), "give this account write access or choose another staging folder"
		if diskfree.IsFull(err) {
			// Before the rights: a full disk is "not writable" too.
			p.Fix = "free space on that disk (or set staging: to a folder on a disk with room for the largest export): every backup writes its exports and its index there first"
		}
		return p
	}
	p.OK, p.Detail = true, dir+" writable"
	if free, err := diskfree.Free(dir); err == nil {
		p.Detail += ", " + progress.HumanBytes(int64(min(free, 1<<62))) + " free"
		if free < StagingFloor {
			p.Warn = true
			p.Detail += fmt.Sprintf(": less than %s; a backup fails when what it stages there (the cmdlets' and command exporters' output, its index) does not fit", progress.HumanBytes(StagingFloor))
			p.Fix = "free space on that disk, or set staging: to a folder on a disk with room for the largest export"
		}
	}
	if chunked && underTemp(dir) {
		// The host's chunk key lives there: a cleaned temp folder (or /tmp
		// at reboot) costs the next backup a full upload.
		fix := "set staging: to a folder on a lasting disk (for example D:\\LyncBackup\\staging or /var/lib/lyncbackup)"
		if p.Warn { // low on space as well
			fix = "free space there or, better, " + fix + " with room for the largest export"
		}
		p.Warn = true
		p.Detail += "; it is under the temp folder, which may be cleaned, and the host's chunk key is kept there: without it the next backup uploads every chunk again"
		p.Fix = fix
	}
	return p
}

// StagingFloor is the free space on the staging folder's disk below which
// check warns: the staging folder takes the cmdlets' and command
// exporters' output whole and the backup's index spool before they are
// uploaded (a Lync export of a pool of any size, a CsUserData zip with
// its users, is hundreds of MiB), and the disk is shared with other work.
const StagingFloor = 1 << 30

// underTemp reports whether dir is in the system's temp folder.
func underTemp(dir string) bool {
	for _, tmp := range []string{os.TempDir(), "/tmp", "/var/tmp", "/dev/shm"} {
		if runtime.GOOS == "windows" && strings.HasPrefix(tmp, "/") {
			continue
		}
		rel, err := filepath.Rel(tmp, dir)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func checkDirWritable(name, dir, fix string) Prereq {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		msg := "not a folder"
		if err != nil {
			msg = unwrapPathErr(err).Error()
		}
		return Prereq{Name: name, Detail: fmt.Sprintf("%s: %s", dir, msg), Fix: fix}
	}
	if err := diskfree.ProbeWrite(dir); err != nil {
		if diskfree.IsFull(err) {
			fix = "free space on that disk: SQL Server writes the .bak files there"
		}
		return Prereq{Name: name, Detail: fmt.Sprintf("%s: %v", dir, unwrapPathErr(err)), Fix: fix}
	}
	return Prereq{Name: name, OK: true, Detail: dir + " writable"}
}

// mappedDrive is netdrive.Mapped; tests replace it.
var mappedDrive = netdrive.Mapped

// mappedDrives warns about the folders this machine reads or writes that
// are on a network drive mapped in this logon session: the Scheduled Task
// runs in another session, where the letter does not exist, and every
// night failed with "does not exist" while a run by hand worked.
func mappedDrives(cfg *config.Config) (Prereq, bool) {
	var hits []string
	seen := map[string]bool{}
	look := func(what, p string) {
		if d, ok := mappedDrive(p); ok && !seen[what+p] {
			seen[what+p] = true
			hits = append(hits, fmt.Sprintf("%s %s (%s is a mapped network drive)", what, p, d))
		}
	}
	look("staging", cfg.Staging)
	for _, e := range cfg.Exporters {
		for _, p := range e.Paths {
			look("exporter "+e.Name+":", p)
		}
		look("exporter "+e.Name+" read_dir:", e.ReadDir)
	}
	if len(hits) == 0 {
		return Prereq{}, false
	}
	return Prereq{Name: "mapped drives", OK: true, Warn: true, Detail: strings.Join(hits, "; "),
		Fix: "use the share's UNC path (\\\\server\\share\\…; net use shows it): a drive mapped in your session does not exist in the scheduled task's"}, true
}
