package exporters

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

// OutputDirEnv names the variable that tells a command exporter's program
// where to write; "{dir}" in its arguments is replaced by the same folder.
const OutputDirEnv = "LYNCBACKUP_OUTPUT_DIR"

// commandExporter runs any program with a fresh folder to write into (for
// what the tool does not know: voice config via Export-Clixml, gateway
// configs, …); the folder becomes the item.
type commandExporter struct {
	name    string
	argv    []string
	timeout time.Duration
}

func init() { buildKind["command"] = buildCommand }

func buildCommand(ctx context.Context, s *session, idx int, e config.Exporter) ([]Exporter, error) {
	return []Exporter{&commandExporter{name: s.uniqueName(e.Name), argv: e.Command, timeout: s.timeout("command", e)}}, nil
}

func (c *commandExporter) Name() string { return c.name }
func (c *commandExporter) Kind() string { return "command" }

func (c *commandExporter) Export(ctx context.Context, env Env) ([]Item, error) {
	dir, err := freshDir(env.Staging, c.name)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "output")
	if err := os.Mkdir(out, 0o700); err != nil {
		return nil, fmt.Errorf("command %s: %w", c.name, err)
	}
	args := make([]string, len(c.argv)-1)
	for i, a := range c.argv[1:] {
		args[i] = strings.ReplaceAll(a, "{dir}", out)
	}
	cmdEnv := append(withoutEnv(os.Environ(), OutputDirEnv), OutputDirEnv+"="+out)
	what := fmt.Sprintf("command %s (%s)", c.name, filepath.Base(c.argv[0]))
	if _, err := runProgram(ctx, what, c.timeout, timeoutAdvice, c.argv[0], args, cmdEnv, 64<<10); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return []Item{{
		Name: c.name, Kind: "command", Roots: []Root{{Path: out, Name: "output"}},
		Meta:    map[string]string{"command": filepath.Base(c.argv[0])},
		Cleanup: func() error { return os.RemoveAll(dir) },
	}}, nil
}

func init() {
	restorers["command"] = func(it PlanItem, pc *planCtx) []Step {
		dir := pc.dir
		return []Step{{Phase: 13, Title: fmt.Sprintf("Output of %s (%s)", it.Name, it.Meta["command"]), Notes: []string{
			"Restored under " + filepath.Join(dir, it.Name, "output") + "; bring it back with your own procedure.",
		}}}
	}
}
