package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/schedule"
)

func init() {
	register(&command{name: "schedule", summary: "install, show or remove the daily scheduled backup (Windows Task Scheduler; systemd/cron text on Linux)",
		usage: "schedule install|show|remove [--time HH:MM] [--user ACCOUNT] [--for windows|linux] [--dry-run] [-- BACKUP FLAGS]", flags: flagsCommon, run: runSchedule})
}

func runSchedule(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("schedule", flag.ContinueOnError)
	a.addGlobal(fs)
	dry := fs.Bool("dry-run", false, "print what would be done, change nothing")
	at := fs.String("time", "02:30", "daily start time, HH:MM (24 h, local time)")
	user := fs.String("user", "SYSTEM", `account the task runs as: DOMAIN\user (schtasks asks for its password; required with Lync exporters), or SYSTEM`)
	name := fs.String("name", schedule.DefaultName, "task name (Windows) or unit name (Linux)")
	target := fs.String("for", runtime.GOOS, "generate for this OS: windows or linux")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("schedule needs an action: install, show or remove (extra backup arguments may follow --)")
	}
	action, extra := pos[0], pos[1:]
	switch action {
	case "install", "show", "remove":
	default:
		return usagef("schedule: unknown action %q (install, show or remove)", action)
	}
	if err := checkBackupArgs(extra); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate the lyncbackup binary: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	cfgPath, err := filepath.Abs(a.configPath())
	if err != nil {
		return usagef("config path: %v", err)
	}
	t := schedule.Task{Name: *name, Exe: exe, Config: cfgPath, Time: *at, User: *user, Args: extra}
	if err := t.Validate(); err != nil {
		return usageError{err}
	}
	if *target == "windows" && runtime.GOOS != "windows" && !*dry && action != "show" {
		return usagef("schedule %s --for windows runs schtasks.exe and only works on Windows (use --dry-run to see what it would do)", action)
	}
	if action == "install" && *dry && *target == "windows" {
		// The account check also holds for a dry run (when the config loads).
		if cfg, err := a.loadConfig(); err == nil {
			if err := t.CheckAccount(exporters.UsesLync(cfg)); err != nil {
				return usageError{err}
			}
		}
	}
	if action == "install" && !*dry {
		// Scheduling a config that does not load would fail every night.
		cfg, err := a.loadConfig()
		if err != nil {
			return err
		}
		if *target == "windows" {
			if err := t.CheckAccount(exporters.UsesLync(cfg)); err != nil {
				return usageError{err}
			}
		}
		if cfg.Log.File == "" && *target == "windows" {
			a.warnLine("a scheduled task's output is discarded; set log.file in the config to keep the logs")
		}
	}
	if *target != "windows" && *target != "linux" {
		return usagef("--for must be windows or linux, not %q", *target)
	}
	// --json: what the action prints becomes the document's "output".
	var out bytes.Buffer
	stdout := a.stdout
	if a.g.json {
		a.stdout = secrets.Writer(&out)
		defer func() { a.stdout = stdout }()
	}
	if *target == "windows" {
		err = scheduleWindows(ctx, a, t, action, *dry)
	} else {
		err = scheduleLinux(a, t, action)
	}
	if err == nil && a.g.json {
		a.stdout = stdout
		return a.printJSON(map[string]any{"ok": true, "exit_code": 0, "action": action, "for": *target, "dry_run": *dry,
			"name": t.Name, "time": t.Time, "user": t.User, "output": out.String()})
	}
	return err
}

func scheduleWindows(ctx context.Context, a *app, t schedule.Task, action string, dry bool) error {
	live := !dry && runtime.GOOS == "windows"
	if !dry && !live && action != "show" {
		return usagef("schedule %s --for windows runs schtasks.exe and only works on Windows (use --dry-run to see what it would do)", action)
	}
	switch action {
	case "install":
		text, err := schedule.WindowsXML(t)
		if err != nil {
			return usageError{err}
		}
		if !live {
			// The dry run writes the file schtasks would read (and nothing
			// else), so the printed command works as is.
			xmlPath, err := writeTaskXML(text)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "# Task Scheduler XML, written as UTF-16 to %s:\n%s\n", xmlPath, strings.ReplaceAll(string(text), "\r\n", "\n"))
			fmt.Fprintf(a.stdout, "# then run:\n%s\n", schedule.WindowsArgs(schedule.SchtasksCreate(t, xmlPath)))
			return nil
		}
		xmlPath, err := writeTaskXML(text)
		if err != nil {
			return err
		}
		defer os.Remove(xmlPath)
		if err := runTool(ctx, a, schedule.SchtasksCreate(t, xmlPath)); err != nil {
			return err
		}
		a.say("scheduled task %q registered: daily at %s as %s, running %s backup --config %s", t.Name, t.Time, t.User, t.Exe, t.Config)
		return nil
	case "show":
		if !live {
			text, err := schedule.WindowsXML(t)
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(a.stdout, "# the task install would register:\n%s", strings.ReplaceAll(string(text), "\r\n", "\n"))
			return nil
		}
		return runTool(ctx, a, schedule.SchtasksQuery(t))
	case "remove":
		if !live {
			fmt.Fprintf(a.stdout, "# would run:\n%s\n", schedule.WindowsArgs(schedule.SchtasksDelete(t)))
			return nil
		}
		if err := runTool(ctx, a, schedule.SchtasksDelete(t)); err != nil {
			return err
		}
		a.say("scheduled task %q removed", t.Name)
	}
	return nil
}

// writeTaskXML writes the task XML as UTF-16LE with a byte-order mark (what
// schtasks /XML reads) to a new file in the temporary folder and returns its
// path (nothing is left behind when writing fails).
func writeTaskXML(text []byte) (string, error) {
	f, err := os.CreateTemp("", "lyncbackup-task-*.xml")
	if err != nil {
		return "", fmt.Errorf("write task XML: %w", err)
	}
	_, err = f.Write(schedule.EncodeUTF16(text))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write task XML %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// runTool runs argv with the console attached (schtasks may ask for a password).
func runTool(ctx context.Context, a *app, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, a.stdout, a.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", schedule.WindowsArgs(argv), err)
	}
	return nil
}

func scheduleLinux(a *app, t schedule.Task, action string) error {
	sn, svc, tn, tmr, err := schedule.SystemdUnits(t)
	if err != nil {
		return usageError{err}
	}
	cron, err := schedule.CronLine(t)
	if err != nil {
		return usageError{err}
	}
	if action == "remove" {
		fmt.Fprintf(a.stdout, "# systemd:\nsystemctl disable --now %s\nrm /etc/systemd/system/%s /etc/systemd/system/%s\nsystemctl daemon-reload\n", tn, sn, tn)
		fmt.Fprintf(a.stdout, "# or cron: delete this line with crontab -e:\n%s\n", cron)
		return nil
	}
	fmt.Fprintf(a.stdout, "# /etc/systemd/system/%s\n%s\n# /etc/systemd/system/%s\n%s\n", sn, svc, tn, tmr)
	fmt.Fprintf(a.stdout, "# then: systemctl daemon-reload && systemctl enable --now %s\n\n", tn)
	fmt.Fprintf(a.stdout, "# or, with cron (crontab -e):\n%s\n", cron)
	return nil
}
