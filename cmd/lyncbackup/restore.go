package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/internal/durable"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/upload"
	"golang.org/x/term"
)

func init() {
	register(&command{name: "restore", summary: "restore a set (or one item) into a folder",
		usage: "restore [SET|latest] --to DIR --identity FILE [--item NAME]... [--include PATTERN]... [--from URL [--ca-file FILE]] [--force] [flags]", flags: flagsTransfer, run: runRestore})
	register(&command{name: "verify", summary: "check a set's objects (and with --identity, every file)",
		usage: "verify [SET|latest|all] [--identity FILE] [--item NAME]... [--from URL [--ca-file FILE]] [flags]", flags: flagsTransfer, run: runVerify})
}

type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

// Set adds a value once: "--item a --item a" is item a.
func (m *multiFlag) Set(s string) error {
	if !slices.Contains(*m, s) {
		*m = append(*m, s)
	}
	return nil
}

// setFlags are shared by restore and verify.
type setFlags struct {
	from, host, identity string
	caFile               string // --ca-file
	items                multiFlag
	parallel             int
	// staging and cfgHost: the config's, when the store is the config's
	// (where a damaged chunk is recorded for the backup: damageRecorder).
	staging, cfgHost string
}

func (s *setFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&s.from, "from", "", "destination URL (instead of a config file)")
	addCAFileFlag(fs, &s.caFile)
	fs.StringVar(&s.host, "host", "", "host whose sets to use (default: the config's host, or the only host)")
	fs.StringVar(&s.identity, "identity", "", "age identity file (or OpenSSH private key)")
	fs.Var(&s.items, "item", "only this item (repeatable)")
	parallelFlag(fs, &s.parallel, "`N` items at once (default 2)")
}

// openForRead opens the store from --from or the config, and returns the host to use.
func (a *app) openForRead(ctx context.Context, s *setFlags) (upload.Store, string, error) {
	if s.from != "" {
		if err := checkCAFileFlag(s.from, s.caFile); err != nil {
			return nil, "", err
		}
		if a.g.config != "" {
			// --config with --from: the store is --from's, the rest (log
			// file, metrics textfile) the config's, as prune takes it.
			if _, err := a.loadConfig(); err != nil {
				return nil, "", err
			}
		}
		st, err := destination.FromURL(ctx, s.from, s.caFile)
		if err != nil {
			return nil, "", err
		}
		a.fromURLTrust(s.caFile)
		return st, s.host, nil
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, "", fmt.Errorf("%w (or give --from URL)", err)
	}
	if err := a.configTrust(cfg, s.caFile); err != nil {
		return nil, "", err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	host := s.host
	if host == "" {
		host = cfg.Host
	}
	s.staging, s.cfgHost = cfg.Staging, cfg.Host
	return st, host, nil
}

// resolveSet finds SET (or latest) in the store; for latest it also returns
// the newer sets it passed over (see sayskipped).
// identities loads --identity (asking for its passphrase if it has one);
// a key file that does not open is a usage error.
func (a *app) identities(sf setFlags) ([]age.Identity, error) {
	ids, err := crypto.LoadIdentities(sf.identity, a.identityPassphrase)
	if err != nil {
		return nil, usageError{err}
	}
	return ids, nil
}

func (a *app) resolveSet(ctx context.Context, st upload.Store, host, spec string) (catalog.Set, []catalog.Skipped, error) {
	// The sets without their chunk lists, then the chosen one whole: a
	// listing of every set's chunk entries is ~0.3 MB per GB per set.
	cat := catalog.Catalog{Store: st, NoChunks: true}
	sets, err := cat.List(ctx)
	if err != nil {
		return catalog.Set{}, nil, err
	}
	set, skipped, err := catalog.ResolveSkipping(sets, host, spec)
	if err != nil {
		return set, skipped, noSetsHint(ctx, st, sets, err)
	}
	m, err := cat.LoadManifest(ctx, set.Host, set.ID)
	if err != nil {
		// The set chosen, without its manifest: restore --thaw can still
		// thaw a manifest in an archive tier (thawManifest).
		set.Manifest = nil
		return set, skipped, err
	}
	set.Manifest = m
	return set, skipped, nil
}

// noSetsHint adds to err, when the destination holds no set at all, where
// the sets seem to be (a URL one folder off: catalog.Misplaced).
func noSetsHint(ctx context.Context, st upload.Store, sets []catalog.Set, err error) error {
	if len(sets) == 0 {
		if hint := catalog.Misplaced(ctx, st); hint != "" {
			return fmt.Errorf("%w (%s)", err, hint)
		}
	}
	return err
}

// setSpec is the one positional argument of restore, verify and ls: a set
// id (or a unique prefix of one), latest (the default) or another of forms.
func setSpec(command, forms string, pos []string) (string, error) {
	switch len(pos) {
	case 0:
		return "latest", nil
	case 1:
		return pos[0], nil
	}
	return "", usagef("%s takes one set id (%s), got %d arguments", command, forms, len(pos))
}

// saySkipped names on stderr, even with --quiet or --json, every newer set
// "latest" passed over: it never silently means an older set.
// For latest, it also says when the set is dated in the future: made while
// a clock was ahead, it sorts after every backup made since.
func (a *app) saySkipped(set catalog.Set, skipped []catalog.Skipped, spec string) {
	for _, s := range skipped {
		a.warnLine(fmt.Sprintf("latest is %s; skipped newer set %s (%s)", set.ID, s.SetID, s.Reason),
			"latest", set.ID, "skipped", s.SetID, "status", s.Status)
	}
	if now := time.Now(); spec == "latest" && set.Time.After(now.Add(catalog.FutureAllowance)) {
		a.warnLine(fmt.Sprintf("latest is %s, dated %s, after this machine's clock (%s): it was made while a clock was ahead, and it sorts after every set made since, whatever their real age; list the sets and restore the one you mean by its id",
			set.ID, set.Time.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)), "latest", set.ID, "dated", set.Time.UTC())
	}
}

func runRestore(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	a.addGlobal(fs)
	var sf setFlags
	sf.add(fs)
	to := fs.String("to", "", "restore folder (required)")
	force := fs.Bool("force", false, "restore over item folders that hold files already, replacing the files of the same names")
	thaw := fs.Bool("thaw", false, "start bringing archive-tier objects back online")
	syncFlag := fs.Bool("sync", false, "flush every restored file and folder to the disk before each item is put in place, and the move after it: once restored is printed, a power loss finds every file whole (slower: about +20% on a fast disk, more with many small files on slow storage)")
	var includes multiFlag
	fs.Var(&includes, "include", "restore only the files whose path (ITEM/path as ls shows it, or the path in the item), or a folder above them, matches this pattern, e.g. 'filestore/FileStore/1-WebServices-1' or '*/*/meetings/*.pptx' (repeatable; every file is still checked)")
	extra := registerRestoreFlags(fs)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	spec, err := setSpec("restore", "or latest", pos)
	if err != nil {
		return err
	}
	if *to == "" && !*thaw {
		return usagef("restore needs --to DIR")
	}
	var include func(item, name string) bool
	if len(includes) > 0 {
		match, err := archive.Includer(includes, runtime.GOOS == "windows")
		if err != nil {
			return usageError{err}
		}
		// A path in the item, or with the item's name in front as ls
		// and a full restore show it (ITEM/path).
		include = func(item, name string) bool { return match(name) || match(item+"/"+name) }
		// --thaw and --plan / --run-imports restore nothing: --include
		// would be silently ignored.
		for _, other := range []string{"thaw", "plan", "run-imports"} {
			if f := fs.Lookup(other); f != nil && f.Value.String() == "true" {
				return usagef("--include chooses files to restore; --%s restores none", other)
			}
		}
	}
	if err := restoreModeFlags(fs); err != nil {
		return err
	}
	st, host, err := a.openForRead(ctx, &sf)
	if err != nil {
		return err
	}
	set, skipped, err := a.resolveSet(ctx, st, host, spec)
	if *thaw && set.ID != "" && errors.Is(err, upload.ErrArchived) {
		return thawManifest(ctx, a, st, set)
	}
	if err != nil {
		return err
	}
	a.saySkipped(set, skipped, spec)
	if *thaw {
		return thawSet(ctx, a, st, set, sf.items)
	}
	if handled, err := extra(ctx, a, set, *to); handled {
		return err
	}
	if sf.identity == "" {
		return usagef("restore needs --identity FILE (the age identity matching the set's recipients)")
	}
	ids, err := a.identities(sf)
	if err != nil {
		return err
	}
	n := len(set.Manifest.Items)
	if len(sf.items) > 0 {
		n = len(sf.items)
	}
	a.runLog().Info("restore started", "set", set.Host+"/"+set.ID, "to", *to, "items", n)
	// A hint to restore more names the set by its id unless the command
	// did: latest may be a newer set by the time it is followed.
	namedAs := spec
	switch spec {
	case "":
		namedAs = "latest"
	case set.ID:
		namedAs = ""
	}
	durable.Enable(*syncFlag)
	a.setReadMemory(sf.parallel, set.Manifest)
	prog := newProgress(a, nil)
	reports, err := pipeline.Read(ctx, pipeline.ReadJob{
		Store: st, Manifest: set.Manifest, Items: sf.items, Identities: ids, To: *to, Force: *force,
		Parallel: sf.parallel, Progress: prog, Include: include, NamedAs: namedAs,
		Damaged: a.damageRecorder(ctx, st, sf, set.Host).damaged,
		Warn:    func(msg string) { a.warnLine(msg, "set", set.ID) },
	})
	prog.Stop()
	restoreWarnings(a, reports)
	if err != nil {
		err = fmt.Errorf("restore %s/%s: %w%s", set.Host, set.ID, err, pipeline.FinishHint(reports, includes, *force, set.ID, namedAs))
	}
	var files, folders, links, bytes int64
	for _, r := range reports {
		files += r.Files
		folders += r.Folders
		links += r.Links
		bytes += r.PlainBytes
	}
	// Only when nothing at all was chosen: an --include of links or
	// empty folders alone put them in place.
	if err == nil && include != nil && files+folders+links == 0 {
		var there []string
		for _, r := range reports {
			there = append(there, fmt.Sprintf("%s holds %s", r.Name, strings.Join(r.Top, ", ")))
		}
		err = fmt.Errorf("restore %s/%s: no file matches --include %s (a path in the item or ITEM/path, as ls shows them: %s); every file was checked, nothing was written", set.Host, set.ID, strings.Join(includes, ", "), strings.Join(there, "; "))
	}
	if a.g.json {
		a.printJSON(a.readDoc(set, skipped, "", reports, err, *to))
	}
	if err != nil {
		return err
	}
	a.say("restored set %s/%s: %d items, %d files, %d folders, %d links, %s into %s (every file's SHA-256 checked)", set.Host, set.ID, len(reports), files, folders, links, humanBytes(bytes), *to)
	return nil
}

// restoreModeFlags refuses a flag that the chosen mode of restore would
// ignore: --thaw only starts the thaw, --plan prints and --run-imports
// runs the import steps (both from the manifest: nothing is decrypted or
// written under --to by them), and the step runner's flags need
// --run-imports.
func restoreModeFlags(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	on := func(name string) bool { f := fs.Lookup(name); return f != nil && f.Value.String() == "true" }
	runOnly := []string{"yes", "start-at", "powershell", "module"}
	planOrRun := []string{"scenario", "pool", "filestore", "database", "rgs-to", "overwrite-newer"}
	switch {
	case on("thaw"):
		for _, f := range append([]string{"plan", "run-imports", "to", "force", "identity", "sync"}, append(runOnly, planOrRun...)...) {
			if given[f] {
				return usagef("--thaw only starts bringing the set's objects online; --%s belongs to the restore that follows, run without --thaw once they are", f)
			}
		}
	case on("plan") || on("run-imports"):
		for _, f := range []string{"force", "identity", "sync"} {
			if given[f] {
				return usagef("--plan and --run-imports work from the manifest and restore no files; --%s belongs to the restore of the files", f)
			}
		}
	}
	for _, f := range runOnly {
		if given[f] && !on("run-imports") {
			return usagef("--%s is taken with --run-imports only", f)
		}
	}
	for _, f := range planOrRun {
		if given[f] && !on("plan") && !on("run-imports") {
			return usagef("--%s is taken with --plan or --run-imports only", f)
		}
	}
	return nil
}

// registerRestoreFlags lets restore-plan flags (--plan, --run-imports) join;
// the default adds none.
var registerRestoreFlags = func(fs *flag.FlagSet) func(ctx context.Context, a *app, set catalog.Set, to string) (bool, error) {
	return func(context.Context, *app, catalog.Set, string) (bool, error) { return false, nil }
}

func thawSet(ctx context.Context, a *app, st upload.Store, set catalog.Set, items []string) error {
	th, ok := upload.As[upload.Thawer](st)
	if !ok {
		return usagef("this destination has no archive tier: nothing to thaw")
	}
	reps, err := pipeline.Thaw(ctx, th, set.Manifest, items, 7)
	if a.g.json {
		d := thawDoc{OK: err == nil, ExitCode: a.code(err), Host: set.Host, SetID: set.ID, Items: reps}
		if d.Items == nil {
			d.Items = []pipeline.ThawReport{}
		}
		if err != nil {
			d.Error = oneLine(a.trust.Hint(err).Error())
		}
		a.printJSON(d)
		return err
	}
	for _, r := range reps {
		a.say("%s", r.Summary())
	}
	return err
}

// thawManifest starts the thaw of a set's manifest that is itself in an
// archive tier (a set written before manifests were kept online): nothing
// else of the set can be named until it is back. The run then says to ask
// again for the items.
func thawManifest(ctx context.Context, a *app, st upload.Store, set catalog.Set) error {
	th, ok := upload.As[upload.Thawer](st)
	if !ok {
		return usagef("this destination has no archive tier: nothing to thaw")
	}
	key := catalog.ManifestKey(set.Host, set.ID)
	t, err := th.Thaw(ctx, key, 7)
	rep := pipeline.ThawReport{Item: "manifest.json", Objects: 1, Message: t.Message}
	switch t.State {
	case upload.ThawStarted:
		rep.Started = 1
	case upload.ThawRunning:
		rep.Running = 1
	default:
		rep.Online = 1
	}
	if err != nil {
		err = fmt.Errorf("thaw the manifest of set %s: %w", set.ID, err)
	}
	if a.g.json {
		d := thawDoc{OK: err == nil, ExitCode: a.code(err), Host: set.Host, SetID: set.ID, Items: []pipeline.ThawReport{rep}}
		if err != nil {
			d.Error = oneLine(a.trust.Hint(err).Error())
		}
		a.printJSON(d)
		return err
	}
	if err != nil {
		return err
	}
	a.say("the manifest of set %s/%s is itself in the archive tier (written before lyncbackup kept manifests online): %s; once it is back, run restore %s --thaw again to bring the items back", set.Host, set.ID, t.Message, set.ID)
	return nil
}

// thawDoc is the --json document of restore --thaw (schema: README).
type thawDoc struct {
	OK       bool                  `json:"ok"`
	ExitCode int                   `json:"exit_code"`
	Host     string                `json:"host"`
	SetID    string                `json:"set_id"`
	Items    []pipeline.ThawReport `json:"items"`
	Error    string                `json:"error,omitempty"`
}

// readDoc is the --json document of restore and verify (schema: README).
type readDoc struct {
	OK       bool   `json:"ok"`
	ExitCode int    `json:"exit_code"`
	Host     string `json:"host"`
	SetID    string `json:"set_id"`
	// Mode (verify): "stored" checks the stored objects' size and SHA-256,
	// "full" also decrypts, decompresses and hashes every file.
	Mode string `json:"mode,omitempty"`
	To   string `json:"to,omitempty"`
	// Skipped: for latest, the newer sets passed over and why.
	Skipped     []catalog.Skipped     `json:"skipped"`
	Items       []pipeline.ItemReport `json:"items"`
	Files       int64                 `json:"files"`
	Folders     int64                 `json:"folders,omitempty"`
	Links       int64                 `json:"links,omitempty"`
	PlainBytes  int64                 `json:"plain_bytes"`
	StoredBytes int64                 `json:"stored_bytes"`
	Error       string                `json:"error,omitempty"`
}

func (a *app) readDoc(set catalog.Set, skipped []catalog.Skipped, mode string, reports []pipeline.ItemReport, err error, to string) readDoc {
	err = a.trust.Hint(err)
	d := readDoc{OK: err == nil, ExitCode: a.code(err), Host: set.Host, SetID: set.ID, Mode: mode, To: to, Items: reports, Skipped: skipped}
	if d.Skipped == nil {
		d.Skipped = []catalog.Skipped{}
	}
	if d.Items == nil {
		d.Items = []pipeline.ItemReport{}
	}
	for _, r := range reports {
		d.Files += r.Files
		d.Folders += r.Folders
		d.Links += r.Links
		d.PlainBytes += r.PlainBytes
		d.StoredBytes += r.StoredBytes
	}
	if err != nil {
		d.Error = oneLine(err.Error())
	}
	return d
}

func runVerify(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	a.addGlobal(fs)
	var sf setFlags
	sf.add(fs)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	spec, err := setSpec("verify", "or latest, or all", pos)
	if err != nil {
		return err
	}
	st, host, err := a.openForRead(ctx, &sf)
	if err != nil {
		return err
	}
	if spec == "all" {
		return a.verifyAll(ctx, st, host, sf)
	}
	set, skipped, err := a.resolveSet(ctx, st, host, spec)
	if err != nil {
		if set.ID != "" {
			// The set named, without its manifest (resolveSet).
			return pipeline.ArchivedSet(set.Host, set.ID, err)
		}
		return err
	}
	// latest answers "is my newest backup good?" (a scheduled verify): a
	// newer set verify cannot read, its manifest damaged or in an archive
	// tier, means that cannot be said, whatever an older set says. It
	// fails (exit 1, as verify of that set by id does), naming the set, why
	// and the newest complete set; it verifies nothing older, so that no
	// run whose newest set went unverified reports success. A partial or
	// incomplete (running, or never finished) newer set is no such set: it
	// is passed over with a warning, as restore latest does.
	for _, s := range skipped {
		var why string
		switch s.Status {
		case "damaged":
			why = fmt.Sprintf("the newest set %s/%s is damaged (%s)", set.Host, s.SetID, strings.TrimPrefix(s.Reason, "damaged manifest: "))
		case catalog.StatusArchived:
			why = "the newest " + (&pipeline.ArchivedSetError{Host: set.Host, ID: s.SetID}).Error()
		default:
			continue
		}
		err := fmt.Errorf("verify latest: %s; the newest complete set is %s: verify it by id", why, set.ID)
		if a.g.json {
			d := a.readDoc(set, skipped, "", nil, err, "")
			d.SetID = s.SetID
			a.printJSON(d)
		}
		return err
	}
	a.saySkipped(set, skipped, spec)
	a.setReadMemory(sf.parallel, set.Manifest)
	job := pipeline.ReadJob{Store: st, Manifest: set.Manifest, Items: sf.items, Parallel: sf.parallel,
		Damaged: a.damageRecorder(ctx, st, sf, set.Host).damaged}
	mode, modeText := "stored", "stored objects (size and SHA-256)"
	if sf.identity != "" {
		ids, err := a.identities(sf)
		if err != nil {
			return err
		}
		job.Identities = ids
		mode, modeText = "full", "stored objects and every file (decrypted, decompressed, hashed)"
	}
	a.runLog().Info("verify started", "set", set.Host+"/"+set.ID, "mode", mode)
	prog := newProgress(a, nil)
	job.Progress = prog
	reports, err := pipeline.Read(ctx, job)
	prog.Stop()
	if err != nil {
		err = fmt.Errorf("verify %s/%s: %w", set.Host, set.ID, err)
	}
	if err == nil {
		a.recordVerify(set, mode)
	}
	if a.g.json {
		a.printJSON(a.readDoc(set, skipped, mode, reports, err, ""))
	}
	if err != nil {
		return err
	}
	a.say("verified set %s/%s: %d items OK (%s)", set.Host, set.ID, len(reports), modeText)
	return nil
}

// identityPassphraseEnv holds the passphrase of a protected identity file
// for runs without a terminal (a scheduled verify); it is a secret
// (redacted from every output, see secrets).
const identityPassphraseEnv = "LYNCBACKUP_IDENTITY_PASSPHRASE"

// identityPassphrase is the passphrase of a protected identity file: the
// environment's, else asked on the terminal (not echoed), as age -d asks.
func (a *app) identityPassphrase(path string) (string, error) {
	if p, ok := os.LookupEnv(identityPassphraseEnv); ok {
		return p, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", fmt.Errorf("no terminal to ask for it: run in one, or set %s", identityPassphraseEnv)
	}
	fmt.Fprintf(a.stderr, "Passphrase for %s: ", path)
	state, _ := term.GetState(fd)
	p, err := a.answer(func() (string, error) {
		b, err := term.ReadPassword(fd)
		return string(b), err
	})
	fmt.Fprintln(a.stderr)
	if a.ctx.Err() != nil {
		if state != nil {
			term.Restore(fd, state) // echo back on: the read was left mid-way
		}
		return "", errors.New("interrupted")
	}
	if err != nil {
		return "", fmt.Errorf("read it: %w", err)
	}
	if p == "" {
		return "", errors.New("no passphrase given")
	}
	return p, nil
}

// maxWarnLines: the item warnings a restore prints at most (a file store
// restored on Windows may rename thousands of names); --json lists all.
const maxWarnLines = 20

// restoreWarnings prints the items' warnings (a name renamed for Windows,
// a link not made, a partial folder not removed, a chunk list restored
// without), as backup's are: on stderr, and in the log.
func restoreWarnings(a *app, reports []pipeline.ItemReport) {
	n := 0
	for _, r := range reports {
		for _, w := range r.Warnings {
			if n++; n <= maxWarnLines {
				a.warnLine(r.Name+": "+w, "item", r.Name)
			}
		}
	}
	if n > maxWarnLines {
		a.warnLine(fmt.Sprintf("%d more warnings left out (restore --json lists every one)", n-maxWarnLines))
	}
}
