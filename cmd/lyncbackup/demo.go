package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/examples"
	"github.com/lyncbackup/lyncbackup/internal/shellquote"
	"github.com/lyncbackup/lyncbackup/pipeline"
)

func init() {
	register(&command{name: "demo", summary: "back up the sample tree to a local folder with a throwaway key, then list and verify it",
		usage: "demo [--dir DIR] [flags]", flags: []string{flagJSON, flagQuiet, flagProgress, flagLogFormat, flagLogFile}, run: runDemo})
}

func runDemo(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	a.addGlobal(fs)
	dir := fs.String("dir", "lyncbackup-demo", "work folder for the demo (key, staging, backups, restore)")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("demo", pos); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	// --json: the steps run quietly and the demo prints one document.
	asJSON, quiet := a.g.json, a.g.quiet
	if asJSON {
		a.g.json, a.g.quiet = false, true
		defer func() { a.g.json, a.g.quiet = asJSON, quiet }()
	}
	if err := os.MkdirAll(filepath.Join(abs, "backups"), 0o755); err != nil {
		return fmt.Errorf("demo folder: %w", err)
	}
	// The sample tree: from the binary, written out once.
	sample := filepath.Join(abs, "sample")
	if _, err := os.Stat(sample); err != nil {
		if err := writeSample(sample); err != nil {
			return err
		}
	}
	keyFile := filepath.Join(abs, "demo-identity.txt")
	recipient, created, err := crypto.ThrowawayIdentity(keyFile)
	if err != nil {
		return err
	}
	if created {
		a.say("generated a throwaway key: %s", keyFile)
	}
	vars := map[string]string{"DEMO_DIR": filepath.ToSlash(abs), "SAMPLE_DIR": sample, "DEMO_RECIPIENT": recipient}
	cfg, err := config.Parse(examples.DemoConfig, func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	})
	if err != nil {
		return err
	}
	a.say("== backup of %s to %s", sample, cfg.Destination.URL)
	if err := a.backup(ctx, cfg, false, 0); err != nil {
		return err
	}
	if !a.g.quiet { // the listing is for the eye only (--quiet and --json print none)
		a.say("\n== list")
		if err := runList(ctx, a, []string{"--from", cfg.Destination.URL}); err != nil {
			return err
		}
	}
	a.say("\n== verify latest (decrypts and checks every file)")
	if err := runVerify(ctx, a, []string{"--from", cfg.Destination.URL, "--identity", keyFile, "latest"}); err != nil {
		return err
	}
	restoreDir := filepath.Join(abs, "restore")
	os.RemoveAll(restoreDir)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	set, _, err := a.resolveSet(ctx, st, cfg.Host, "latest")
	if err != nil {
		return err
	}
	ids, err := crypto.LoadIdentities(keyFile, nil)
	if err != nil {
		return err
	}
	if _, err := pipeline.Read(ctx, pipeline.ReadJob{Store: st, Manifest: set.Manifest, Identities: ids, To: restoreDir}); err != nil {
		return err
	}
	a.say("\n== restored into %s", restoreDir)
	// README's commands (a POSIX shell): each item into a folder of its
	// own, then every file checked against the item's index.
	q := shellquote.POSIX
	for _, it := range set.Manifest.Items {
		to := filepath.Join(abs, "stock-"+it.Name)
		if it.Layout == catalog.LayoutChunked { // docs/FORMAT.md: the chunk list, in stream order
			a.say("\nWith stock tools, item %s restores as:\n  mkdir -p %s && cd %s && while read k; do age -d -i %s \"$k\" | zstd -d; done < %s | tar -xf - -C %s\n  cd %s && sha256sum -c .lyncbackup-SHA256SUMS",
				it.Name, q(to), q(filepath.Join(abs, "backups")), q(keyFile), q(it.Key), q(to), q(to))
		} else {
			a.say("\nWith stock tools, item %s restores as:\n  mkdir -p %s && age -d -i %s %s | zstd -d | tar -xf - -C %s\n  cd %s && sha256sum -c .lyncbackup-SHA256SUMS",
				it.Name, q(to), q(keyFile), q(filepath.Join(abs, "backups", filepath.FromSlash(it.Key))), q(to), q(to))
		}
	}
	if asJSON {
		a.g.json = true
		return a.printJSON(map[string]any{"ok": true, "exit_code": 0, "dir": abs, "destination": cfg.Destination.URL,
			"identity_file": keyFile, "host": set.Host, "set_id": set.ID, "restore_dir": restoreDir})
	}
	return nil
}

func writeSample(dst string) error {
	return fs.WalkDir(examples.Sample, "sample", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "sample")
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := examples.Sample.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
