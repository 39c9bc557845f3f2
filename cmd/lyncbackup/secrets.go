package main

import (
	"io"
	"os"
	"sync"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/redact"
)

// secrets scrubs everything the process prints, logs or sends: stdout,
// stderr, the log file (slog ReplaceAttr plus the writer), error lines,
// summaries and notifications. It starts with the values of secret-looking
// environment variables and learns the config's secrets when it is loaded.
var secrets = func() *redact.Redactor {
	r := redact.New()
	r.AddEnv(os.Environ())
	return r
}()

// learnSecrets registers the secret values a config names or carries.
func learnSecrets(cfg *config.Config) {
	if cfg == nil {
		return
	}
	secrets.AddURL(cfg.Destination.URL, false)
	for _, w := range cfg.Notify.Webhooks {
		// Webhook URLs are bearer tokens (Slack, Teams, healthchecks uuids).
		secrets.AddURL(w.URL, true)
	}
	if e := cfg.Notify.Email; e != nil && e.PasswordEnv != "" {
		secrets.Add(os.Getenv(e.PasswordEnv))
	}
	// SQL logins' passwords, whatever their variables are called (the
	// name-based rule in AddEnv misses e.g. LYNC_SQL_PW).
	for _, e := range cfg.Exporters {
		if e.PasswordEnv != "" {
			secrets.Add(os.Getenv(e.PasswordEnv))
		}
	}
}

// console is stderr: redacted, and while progress bars are drawn, routed
// through the bar container so log lines print above the bars instead of
// tearing them.
type console struct {
	mu     sync.Mutex
	out    io.Writer // the redacting writer
	raw    io.Writer // what it writes to (terminal test)
	detour io.Writer
}

func newConsole(w io.Writer) *console {
	return &console{out: secrets.Writer(w), raw: w}
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	d := c.detour
	c.mu.Unlock()
	if d != nil {
		if n, err := d.Write([]byte(secrets.String(string(p)))); err == nil || n > 0 {
			return len(p), nil
		}
	}
	return c.out.Write(p)
}

func (c *console) setDetour(w io.Writer) {
	c.mu.Lock()
	c.detour = w
	c.mu.Unlock()
}
