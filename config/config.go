// Package config turns the YAML file into a validated, typed Config.
// It expands ${VAR} references, rejects unknown keys and wrong types, and
// every error names the key (and the line where the parser knows it).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/lyncbackup/lyncbackup/internal/oserr"
)

// MaxSize bounds the config file we are willing to read.
const MaxSize = 1 << 20

// Config is the whole file.
type Config struct {
	Host    string `yaml:"host"`
	Staging string `yaml:"staging"`
	// Format is "chunked" (content-defined chunks shared between sets) or
	// "archive" (one object per item); see docs/FORMAT.md. Default:
	// chunked, archive for a destination in an offline tier.
	Format      string      `yaml:"format"`
	Exporters   []Exporter  `yaml:"exporters"`
	Lync        *Lync       `yaml:"lync"`
	Compression Compression `yaml:"compression"`
	Encryption  Encryption  `yaml:"encryption"`
	Destination Destination `yaml:"destination"`
	Retention   Retention   `yaml:"retention"`
	Notify      Notify      `yaml:"notify"`
	Metrics     Metrics     `yaml:"metrics"`
	Limits      Limits      `yaml:"limits"`
	Log         Log         `yaml:"log"`
}

// Exporter is one entry of the exporters list. Kind selects which fields apply.
type Exporter struct {
	Kind string `yaml:"kind"`
	Name string `yaml:"name"`
	// path / filestore
	Paths   []string `yaml:"paths"`
	Exclude []string `yaml:"exclude"`
	// path: one item per top-level folder of each path (loose files stay
	// in the item named Name), so big trees are packed, uploaded and
	// restored in parallel.
	Split bool `yaml:"split"`
	// userdata / rgs: explicit pools (else discovered)
	Pools []string `yaml:"pools"`
	// persistentchat / sql
	Instance string `yaml:"instance"`
	// sql: database names, or "auto": the Monitoring (LcsCDR, QoEMetrics)
	// and Archiving (LcsLog) databases Get-CsService finds, each on its
	// own SQL instance.
	Databases StringOrList `yaml:"databases"`
	// sql: where SQL Server writes the .bak and where the tool reads it
	BackupDir string `yaml:"backup_dir"`
	ReadDir   string `yaml:"read_dir"`
	// sql: sqlcmd program (default lync.sqlcmd, else "sqlcmd"); Windows
	// integrated auth unless User is set, then the password is read from the
	// environment variable named by PasswordEnv (never the command line).
	Sqlcmd      string `yaml:"sqlcmd"`
	User        string `yaml:"user"`
	PasswordEnv string `yaml:"password_env"`
	// sql: sqlcmd -C (trust the server certificate: the self-signed
	// certificates common on Lync back ends, refused by ODBC Driver 18)
	// and -N (encrypt the connection).
	TrustServerCertificate bool `yaml:"trust_server_certificate"`
	Encrypt                bool `yaml:"encrypt"`
	// command
	Command []string `yaml:"command"`
	// path / filestore: what a file that cannot be read does: "warn"
	// (default: it is skipped, named in the log, the manifest and --json,
	// and the rest of the item is stored) or "fail" (the item fails).
	OnUnreadable string `yaml:"on_unreadable"`
	// every exporter
	Timeout Duration `yaml:"timeout"`
}

// Lync configures the PowerShell side shared by the Lync exporters.
type Lync struct {
	PowerShell string `yaml:"powershell"`
	// Exporters: "all" or a list of kinds.
	Exporters  StringOrList `yaml:"exporters"`
	Pools      StringOrList `yaml:"pools"`      // "auto" or explicit list
	RgsPools   StringOrList `yaml:"rgs_pools"`  // "auto" or explicit list
	FileStores StringOrList `yaml:"filestores"` // "auto" or explicit UNC list
	Module     string       `yaml:"module"`     // module path override (SE)
	Product    string       `yaml:"product"`    // 2013 / 2015 / 2019 / se; default: probe
	Sqlcmd     string       `yaml:"sqlcmd"`
	// PersistentChatInstance: SQL instance of the mgc database.
	PersistentChatInstance string   `yaml:"persistentchat_instance"`
	Timeout                Duration `yaml:"timeout"`
}

// Compression selects the zstd level.
type Compression struct {
	// Level: auto (default: per item, fastest or default from a trial of
	// its first 4 MiB) / fastest / default / better / best.
	Level string `yaml:"level"`
	// Concurrency of the zstd encoder per item (0: automatic).
	Concurrency int `yaml:"concurrency"`
}

// Encryption lists the age recipients.
type Encryption struct {
	Recipients     []string `yaml:"recipients"`
	RecipientsFile string   `yaml:"recipients_file"`
}

// Destination is where sets are stored.
type Destination struct {
	URL string `yaml:"url"`
	// S3
	Region       string      `yaml:"region"`
	Endpoint     string      `yaml:"endpoint"`
	PathStyle    bool        `yaml:"path_style"`
	Profile      string      `yaml:"profile"`
	StorageClass string      `yaml:"storage_class"`
	SSE          string      `yaml:"sse"` // "", "AES256", "aws:kms"
	SSEKMSKeyID  string      `yaml:"sse_kms_key_id"`
	Checksum     string      `yaml:"checksum"` // when_supported (default) / when_required
	ObjectLock   *ObjectLock `yaml:"object_lock"`
	// Azure
	Account      string        `yaml:"account"`
	AccessTier   string        `yaml:"access_tier"`
	Immutability *Immutability `yaml:"immutability"`
	// transfer tuning (all backends that use it)
	PartSize    Size `yaml:"part_size"`
	Concurrency int  `yaml:"concurrency"`
	// CAFile (S3 and Azure) is a PEM file of CA certificates trusted for
	// the endpoint besides the system store: a store or TLS-inspecting
	// proxy with a private CA (Go on Windows ignores SSL_CERT_FILE). With
	// AWS_CA_BUNDLE set as well, both are trusted.
	CAFile string `yaml:"ca_file"`
}

// ObjectLock configures S3 Object Lock on every uploaded object.
type ObjectLock struct {
	Mode      string `yaml:"mode"` // GOVERNANCE / COMPLIANCE
	Days      int    `yaml:"days"`
	LegalHold bool   `yaml:"legal_hold"`
}

// Immutability configures Azure version-level immutability.
type Immutability struct {
	Days      int  `yaml:"days"`
	Locked    bool `yaml:"locked"`
	LegalHold bool `yaml:"legal_hold"`
}

// Retention is the GFS policy applied by prune.
type Retention struct {
	KeepLast     int      `yaml:"keep_last"`
	KeepHourly   int      `yaml:"keep_hourly"`
	KeepDaily    int      `yaml:"keep_daily"`
	KeepWeekly   int      `yaml:"keep_weekly"`
	KeepMonthly  int      `yaml:"keep_monthly"`
	KeepYearly   int      `yaml:"keep_yearly"`
	KeepWithin   Duration `yaml:"keep_within"`
	MinAge       Duration `yaml:"min_age"`
	TimeZone     string   `yaml:"timezone"`
	CountPartial bool     `yaml:"count_partial"`
	AfterBackup  bool     `yaml:"after_backup"`
	Grace        Duration `yaml:"grace"` // incomplete sets older than this are garbage (default 24h)
}

// Notify configures webhooks and e-mail.
type Notify struct {
	On       string    `yaml:"on"` // failure / always
	Webhooks []Webhook `yaml:"webhooks"`
	Email    *Email    `yaml:"email"`
}

// Webhook is a URL that receives the JSON summary (or a plain ping).
type Webhook struct {
	URL  string `yaml:"url"`
	Ping bool   `yaml:"ping"` // healthchecks style: GET URL, URL/fail on failure
	// CAFile is a PEM file of CA certificates trusted for an https URL
	// besides the system store (a private CA; Go on Windows ignores
	// SSL_CERT_FILE).
	CAFile string `yaml:"ca_file"`
}

// Email is an SMTP report.
type Email struct {
	Server   string   `yaml:"server"` // host:port
	From     string   `yaml:"from"`
	To       []string `yaml:"to"`
	Username string   `yaml:"username"`
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
	StartTLS    *bool  `yaml:"starttls"`
	// CAFile is a PEM file of CA certificates trusted for the server's
	// certificate besides the system store (a relay with a private CA; Go
	// on Windows ignores SSL_CERT_FILE).
	CAFile string `yaml:"ca_file"`
}

// Metrics configures the Prometheus textfile.
type Metrics struct {
	Textfile string `yaml:"textfile"`
}

// Limits holds resource limits.
type Limits struct {
	Upload Rate `yaml:"upload"` // bytes per second across all uploads, 0 = none
}

// Log configures logging.
type Log struct {
	File   string `yaml:"file"`
	Format string `yaml:"format"` // text / json
	// MaxSize rotates the file at the start of a run once it holds this
	// much (0: 10 MiB); three earlier files are kept (FILE.1 to FILE.3).
	MaxSize Size `yaml:"max_size"`
}

// Error is a config error that names the key and, when known, the line.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
	Err  error // the system's error that kept the file from being read (nil: none)
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.File != "" {
		b.WriteString(" " + e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	// One line, whatever the message quotes (a YAML scalar can span lines).
	return lineBreaks.Replace(b.String())
}

var lineBreaks = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`)

// openFile is os.Open (tests put the errors of a share whose server is
// away in its place: Wine gives none).
var openFile = os.Open

// Load reads and validates the config file at path.
func Load(path string) (*Config, error) {
	f, err := openFile(path)
	if err != nil {
		switch {
		case oserr.NetPathDown(err):
			// Go counts it as not existing: the file may well be there.
			return nil, &Error{File: path, Msg: oserr.ServerAway, Err: err}
		case oserr.Missing(err):
			return nil, &Error{File: path, Msg: "file not found (use --config FILE or set LYNCBACKUP_CONFIG)", Err: err}
		}
		return nil, &Error{File: path, Msg: err.Error(), Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	if len(data) > MaxSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file larger than %d bytes", MaxSize)}
	}
	c, err := Parse(data, os.LookupEnv)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = path
		}
		return nil, err
	}
	return c, nil
}

var varRef = regexp.MustCompile(`\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Expand replaces ${VAR} with the variable's value; a missing variable is an
// error naming it and its line. "$${VAR}" stands for a literal "${VAR}".
// Comments are left alone. The value is fitted to where the reference
// stands, so that a secret is taken verbatim and can never add YAML:
// inside "double quotes" it is escaped, inside 'single quotes' its quotes
// are doubled, and in a plain scalar a value YAML would misread (a newline,
// " #", ": ", a leading indicator) is an error asking to quote the reference.
func Expand(data []byte, lookup func(string) (string, bool)) ([]byte, error) {
	var out bytes.Buffer
	depth := 0 // [ and { open, outside quotes, from the lines before
	for i, line := range bytes.SplitAfter(data, []byte("\n")) {
		// Comments may mention ${VAR} freely.
		code := line
		if idx := commentStart(line); idx >= 0 {
			code = line[:idx]
		}
		var firstErr error
		last := 0
		for _, loc := range varRef.FindAllSubmatchIndex(code, -1) {
			out.Write(code[last:loc[0]])
			last = loc[1]
			if code[loc[0]+1] == '$' { // "$${VAR}": the text "${VAR}"
				out.Write(code[loc[0]+1 : loc[1]])
				continue
			}
			name := string(code[loc[2]:loc[3]])
			v, ok := lookup(name)
			if !ok {
				firstErr = &Error{Line: i + 1, Msg: fmt.Sprintf("environment variable %s is not set", name)}
				break
			}
			q := quoteAt(code, loc[0])
			if q == 0 && depth+flowDelta(code[:loc[0]]) > 0 && strings.ContainsAny(v, ",[]{}") {
				// Inside [ ] or { } a comma or bracket ends the plain
				// scalar: D:\Data,Backup would be two paths.
				firstErr = &Error{Line: i + 1, Msg: fmt.Sprintf("environment variable %s: holds one of , [ ] { }, which end a value inside [ ] or { }: write it in double quotes, \"${%s}\"", name, name)}
				break
			}
			fitted, err := fitValue(v, q)
			if err != nil {
				firstErr = &Error{Line: i + 1, Msg: fmt.Sprintf("environment variable %s: %v: write it in double quotes, \"${%s}\"", name, err, name)}
				break
			}
			out.WriteString(fitted)
		}
		if firstErr != nil {
			return nil, firstErr
		}
		out.Write(code[last:])
		out.Write(line[len(code):])
		depth = max(0, depth+flowDelta(code))
	}
	return out.Bytes(), nil
}

// flowDelta counts the [ and { that code opens minus those it closes,
// outside quotes.
func flowDelta(code []byte) int {
	d := 0
	scanPlain(code, len(code), func(c byte) {
		switch c {
		case '[', '{':
			d++
		case ']', '}':
			d--
		}
	})
	return d
}

// quoteAt reports the quote (0, a single or a double quote) open at pos.
func quoteAt(line []byte, pos int) byte { return scanPlain(line, pos, nil) }

// scanPlain follows the quotes of line[:end], calls fn (if any) with each
// byte outside them, and returns the quote open at end.
func scanPlain(line []byte, end int, fn func(c byte)) byte {
	var q byte
	for i := 0; i < end; i++ {
		c := line[i]
		switch {
		case q == 0 && (c == '\'' || c == '"') && quoteCanOpen(line, i):
			q = c
		case q == '"' && c == '\\':
			i++
		case q == '\'' && c == '\'' && i+1 < end && line[i+1] == '\'':
			i++
		case c == q:
			q = 0
		case q == 0 && fn != nil:
			fn(c)
		}
	}
	return q
}

// quoteCanOpen: a quote starts a quoted scalar only where a scalar can
// start ("it's" is plain text).
func quoteCanOpen(line []byte, i int) bool {
	return i == 0 || strings.IndexByte(" \t[{,", line[i-1]) >= 0
}

// yamlVerbatim reports whether YAML reads r, written as it is inside a
// scalar, as that same character: not a control character outside tab
// (YAML refuses C0 and C1 controls, U+FFFE and U+FFFF) and not one of the
// line breaks the YAML parser folds (CR, LF, NEL, LS, PS). U+FEFF (a byte
// order mark) is escaped too.
func yamlVerbatim(r rune) bool {
	switch {
	case r == '\t':
		return true
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return false
	case r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff:
		return false
	}
	return true
}

// fitValue escapes v for the quoting it lands in.
func fitValue(v string, quote byte) (string, error) {
	if !utf8.ValidString(v) {
		// YAML is UTF-8: such bytes could only be replaced, and a secret
		// changed in silence fails later for a wrong reason.
		return "", errors.New("is not valid UTF-8")
	}
	switch quote {
	case '"':
		var b strings.Builder
		for _, r := range v {
			switch {
			case r == '"' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\t':
				b.WriteString(`\t`)
			case r <= 0xff && !yamlVerbatim(r):
				fmt.Fprintf(&b, `\x%02x`, r)
			case !yamlVerbatim(r):
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
		return b.String(), nil
	}
	if strings.ContainsAny(v, "\r\n\u0085\u2028\u2029") {
		return "", errors.New("holds a line break")
	}
	if i := strings.IndexFunc(v, func(r rune) bool { return !yamlVerbatim(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v[i:])
		return "", fmt.Errorf("holds U+%04X, which YAML takes only escaped", r)
	}
	if quote == '\'' {
		return strings.ReplaceAll(v, "'", "''"), nil
	}
	switch {
	case strings.Contains(v, " #") || strings.Contains(v, "\t#"):
		return "", errors.New("holds \" #\", which YAML reads as a comment")
	case strings.Contains(v, ": ") || strings.Contains(v, ":\t") || strings.HasSuffix(v, ":"):
		return "", errors.New("holds \": \", which YAML reads as a key")
	}
	// YAML drops blanks around a plain scalar: judge what it will see.
	t := strings.Trim(v, " \t")
	switch {
	case t == "~" || strings.EqualFold(t, "null"):
		return "", errors.New("reads as YAML's null")
	case t != "" && strings.ContainsRune("'\"[]{}&*!|>%@#`", rune(t[0])):
		return "", fmt.Errorf("starts with %q, which YAML reads as syntax", t[:1])
	}
	return v, nil
}

// commentStart finds a YAML comment start outside quotes (" #" or at line start).
func commentStart(line []byte) int {
	var q byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case q == 0 && c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return i
		case q == 0 && (c == '\'' || c == '"') && quoteCanOpen(line, i):
			q = c
		case q == '"' && c == '\\':
			i++
		case q == '\'' && c == '\'' && i+1 < len(line) && line[i+1] == '\'':
			i++
		case c == q:
			q = 0
		}
	}
	return -1
}

// Parse decodes, expands and validates config text. lookup resolves ${VAR}.
func Parse(data []byte, lookup func(string) (string, bool)) (*Config, error) {
	data, err := Expand(data, lookup)
	if err != nil {
		return nil, err
	}
	if err := checkWholeNumbers(data); err != nil {
		return nil, err
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Msg: "file is empty"}
		}
		e := yamlError(err)
		if ce, ok := e.(*Error); ok && ce.Line > 0 && ce.Key == "" {
			ce.Key = keyAtLine(data, ce.Line, rawYAMLMsg(err))
		}
		return nil, e
	}
	// A second document is a mistake, not something to ignore.
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{Msg: "more than one YAML document"}
	}
	if err := c.Validate(); err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.Line == 0 && ce.Key != "" {
			ce.Line = lineOfKey(data, ce.Key)
		}
		return nil, err
	}
	return &c, nil
}

var yamlLine = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns yaml.v3's multi-line errors into one line that names the key.
func yamlError(err error) error {
	var te *yaml.TypeError
	msgs := []string{}
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	first := strings.TrimSpace(msgs[0])
	e := &Error{Msg: first}
	if m := yamlLine.FindStringSubmatch(first); m != nil {
		fmt.Sscanf(m[1], "%d", &e.Line)
		e.Msg = m[2]
	}
	e.Msg = rewriteYAMLMsg(e.Msg)
	if len(msgs) > 1 {
		e.Msg += fmt.Sprintf(" (and %d more)", len(msgs)-1)
	}
	return e
}

var (
	notFound      = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	cannotUnm     = regexp.MustCompile("(?s)^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
	cannotUnmKind = regexp.MustCompile(`^cannot unmarshal !!(\w+) into (\S+)$`)
	quotedValue   = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
)

// rawYAMLMsg is the parser's first complaint without its "line N: " prefix.
func rawYAMLMsg(err error) string {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimSpace(msg)
	for {
		m := yamlLine.FindStringSubmatch(msg)
		if m == nil {
			return msg
		}
		msg = m[2]
	}
}

func rewriteYAMLMsg(s string) string {
	if m := notFound.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("unknown key %q", m[1])
	}
	// Our own UnmarshalYAML errors carry "line N: " already.
	if m := yamlLine.FindStringSubmatch(s); m != nil {
		return m[2]
	}
	if m := cannotUnm.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("wrong type: %s %q where %s is expected", m[1], m[2], goTypeWord(m[3]))
	}
	if m := cannotUnmKind.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("wrong type: %s where %s is expected", yamlKindWord(m[1]), goTypeWord(m[2]))
	}
	return s
}

func yamlKindWord(k string) string {
	switch k {
	case "map":
		return "a mapping"
	case "seq":
		return "a list"
	}
	return k
}

func goTypeWord(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case t == "int" || t == "int64":
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "config.") || strings.HasPrefix(t, "map"):
		return "a mapping"
	}
	return t
}
