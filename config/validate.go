package config

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/winname"
)

// ExporterKinds lists every exporter kind the tool knows.
var ExporterKinds = []string{"path", "csconfig", "topology", "lis", "userdata", "rgs", "persistentchat", "filestore", "sql", "command"}

// CompressionLevels lists the accepted compression.level words.
var CompressionLevels = []string{"auto", "fastest", "default", "better", "best"}

var itemName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidName reports whether s may name an item (it becomes part of an object key and a folder name).
func ValidName(s string) bool { return itemName.MatchString(s) && !strings.Contains(s, "..") }

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func keyErr(key, format string, a ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, a...)}
}

// checkPaths refuses an empty path and a path given twice (the same folder
// after cleaning; without case on Windows, whose names ignore it): the
// second copy would be read and stored again, as NAME-2.
func checkPaths(key string, paths []string) error {
	seen := map[string]int{}
	for i, p := range paths {
		k := fmt.Sprintf("%s[%d]", key, i)
		if strings.TrimSpace(p) == "" {
			return keyErr(k, "empty: name a file or folder")
		}
		c := filepath.Clean(p)
		if runtime.GOOS == "windows" {
			c = strings.ToLower(c)
		}
		if j, ok := seen[c]; ok {
			return keyErr(k, "%s is %s[%d] again: it would be read and stored twice", p, key, j)
		}
		seen[c] = i
	}
	return nil
}

// checkPatterns refuses an exclude pattern that matches nothing because it
// is malformed ("[abc", a trailing "\\" on Unix): it would leave out
// nothing, silently. On Windows "\\" separates folders, as the exporter
// reads it.
func checkPatterns(key string, pats []string) error {
	for i, p := range pats {
		k := fmt.Sprintf("%s[%d]", key, i)
		if p == "" {
			return keyErr(k, "empty: a glob such as *.tmp")
		}
		if runtime.GOOS == "windows" {
			p = strings.ReplaceAll(p, `\`, "/")
		}
		if _, err := path.Match(p, ""); err != nil {
			return keyErr(k, "%q is not a valid pattern (an unclosed [ or a \\ at the end): it would leave out nothing", pats[i])
		}
	}
	return nil
}

// Validate fills defaults and checks what the YAML types cannot.
func (c *Config) Validate() error {
	if c.Host == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return keyErr("host", "not set and the machine's name is unknown")
		}
		c.Host = h
	}
	if !ValidName(c.Host) {
		return keyErr("host", "%q is not a valid host name (letters, digits, '.', '-', '_')", c.Host)
	}
	if dev := winname.Device(c.Host); dev != "" {
		return keyErr("host", "%q is the Windows device %s (its folder would be the device on a Windows destination)", c.Host, dev)
	}
	if strings.HasSuffix(c.Host, ".") {
		// An absolute DNS name. A Windows folder drops a trailing dot, so
		// the sets would be stored under another name than they are
		// looked for under.
		return keyErr("host", "%q ends in '.', which a Windows folder drops: write %q", c.Host, strings.TrimRight(c.Host, "."))
	}
	if c.Staging == "" {
		c.Staging = filepath.Join(os.TempDir(), "lyncbackup-staging")
	}
	switch c.Format {
	case "":
		// Chunks save a full copy per set; but in an offline tier every
		// chunk of a restore would have to be thawed on its own.
		c.Format = "chunked"
		if OfflineTier(c.Destination) {
			c.Format = "archive"
		}
	case "chunked", "archive":
	default:
		return keyErr("format", "unknown format %q (chunked or archive)", c.Format)
	}
	if len(c.Exporters) == 0 && c.Lync == nil {
		return keyErr("exporters", "missing: list at least one exporter (or set lync.exporters)")
	}
	if len(c.Exporters) == 0 && len(c.Lync.Exporters) == 0 {
		// A lync section alone exports nothing: every night would end in
		// "nothing was backed up", after check had passed.
		return keyErr("lync.exporters", "missing: all, or a list of csconfig, topology, lis, userdata, rgs, persistentchat, filestore (or list exporters)")
	}
	names := map[string]string{} // folded name → as written
	for i, e := range c.Exporters {
		key := fmt.Sprintf("exporters[%d]", i)
		if e.Kind == "" {
			return keyErr(key+".kind", "missing (one of %s)", strings.Join(ExporterKinds, ", "))
		}
		if !contains(ExporterKinds, e.Kind) {
			return keyErr(key+".kind", "unknown kind %q (one of %s)", e.Kind, strings.Join(ExporterKinds, ", "))
		}
		if e.Name == "" {
			e.Name = e.Kind
			c.Exporters[i].Name = e.Kind
		}
		if err := checkTimeout(key+".timeout", e.Timeout); err != nil {
			return err
		}
		if !ValidName(e.Name) {
			return keyErr(key+".name", "%q is not a valid item name (letters, digits, '.', '-', '_', at most 100)", e.Name)
		}
		// An item is a folder and an object name on Windows (staging,
		// folder destinations, restore), where these are not kept.
		if dev := winname.Device(e.Name); dev != "" {
			return keyErr(key+".name", "%q is the Windows device %s (its folder and objects would be the device there): choose another name", e.Name, dev)
		}
		if strings.HasSuffix(e.Name, ".") {
			return keyErr(key+".name", "%q ends in '.', which Windows drops from a folder name: write %q", e.Name, strings.TrimRight(e.Name, "."))
		}
		switch first, ok := names[strings.ToLower(e.Name)]; {
		case ok && first == e.Name:
			return keyErr(key+".name", "%q is used by two exporters", e.Name)
		case ok:
			return keyErr(key+".name", "%q and %q are used by two exporters: names that differ only in case are one folder on Windows and SMB shares, where a set is restored", first, e.Name)
		}
		names[strings.ToLower(e.Name)] = e.Name
		switch e.OnUnreadable {
		case "", "warn", "fail":
		default:
			return keyErr(key+".on_unreadable", "must be warn or fail, not %q", e.OnUnreadable)
		}
		if e.OnUnreadable != "" && e.Kind != "path" && e.Kind != "filestore" {
			return keyErr(key+".on_unreadable", "only a path or filestore exporter reads files itself")
		}
		if e.Split && e.Kind != "path" {
			return keyErr(key+".split", "only a path exporter can be split")
		}
		if err := checkPaths(key+".paths", e.Paths); err != nil {
			return err
		}
		if err := checkPatterns(key+".exclude", e.Exclude); err != nil {
			return err
		}
		switch e.Kind {
		case "path":
			if len(e.Paths) == 0 {
				return keyErr(key+".paths", "missing: a path exporter needs at least one path")
			}
		case "command":
			if len(e.Command) == 0 {
				return keyErr(key+".command", "missing: the program and its arguments")
			}
		case "sql":
			if len(e.Databases) == 0 {
				return keyErr(key+".databases", "missing: at least one database, or auto (the Monitoring and Archiving databases Get-CsService finds)")
			}
			if e.Databases.Auto() && c.Lync == nil {
				return keyErr(key+".databases", "auto finds the Monitoring and Archiving databases through the Lync cmdlets: add a lync: section (or list the databases)")
			}
			if e.BackupDir == "" {
				return keyErr(key+".backup_dir", "missing: a folder SQL Server writes and this tool reads")
			}
			if e.User != "" && e.PasswordEnv == "" {
				return keyErr(key+".password_env", "missing: the environment variable that holds the SQL login's password (it is never put on the command line)")
			}
			if e.PasswordEnv != "" && e.User == "" {
				return keyErr(key+".user", "missing: the SQL login whose password is in %s (leave both out for Windows integrated auth)", e.PasswordEnv)
			}
		case "persistentchat":
			if c.Lync != nil && (strings.EqualFold(c.Lync.Product, "2019") || strings.EqualFold(c.Lync.Product, "se")) {
				return keyErr(key+".kind", "persistentchat: Persistent Chat was removed in Skype for Business Server %s (back up its database with a sql exporter if it is still around)", c.Lync.Product)
			}
			if e.Instance == "" && c.Lync == nil {
				return keyErr(key+".instance", "missing: the SQL instance of the Persistent Chat database (or a lync: section, to find every Persistent Chat pool's database)")
			}
		}
	}
	if c.Lync != nil {
		if c.Lync.PowerShell == "" {
			c.Lync.PowerShell = "powershell.exe"
		}
		if err := checkTimeout("lync.timeout", c.Lync.Timeout); err != nil {
			return err
		}
		if !c.Lync.Exporters.All() {
			for _, k := range c.Lync.Exporters {
				if !contains(ExporterKinds, k) || k == "path" || k == "command" || k == "sql" {
					return keyErr("lync.exporters", "unknown Lync exporter %q (all, or a list of csconfig, topology, lis, userdata, rgs, persistentchat, filestore)", k)
				}
			}
		}
		switch strings.ToLower(c.Lync.Product) {
		case "", "2013", "2015", "2019", "se":
		default:
			return keyErr("lync.product", "unknown product %q (2013, 2015, 2019 or se)", c.Lync.Product)
		}
		c.Lync.Product = strings.ToLower(c.Lync.Product)
		if (c.Lync.Product == "2019" || c.Lync.Product == "se") && !c.Lync.Exporters.All() && contains(c.Lync.Exporters, "persistentchat") {
			return keyErr("lync.exporters", "persistentchat: Persistent Chat was removed in Skype for Business Server %s (back up its database with a sql exporter if it is still around)", c.Lync.Product)
		}
	}
	if c.Compression.Level == "" {
		c.Compression.Level = "auto"
	}
	if !contains(CompressionLevels, c.Compression.Level) {
		return keyErr("compression.level", "unknown level %q (auto, fastest, default, better or best)", c.Compression.Level)
	}
	if c.Compression.Concurrency < 0 {
		return keyErr("compression.concurrency", "must not be negative")
	}
	if len(c.Encryption.Recipients) == 0 && c.Encryption.RecipientsFile == "" {
		return keyErr("encryption.recipients", "missing: at least one age or ssh public key (or encryption.recipients_file)")
	}
	if err := c.Destination.validate(); err != nil {
		return err
	}
	if err := c.Retention.validate(); err != nil {
		return err
	}
	switch c.Notify.On {
	case "", "failure", "always":
	default:
		return keyErr("notify.on", "must be failure or always, not %q", c.Notify.On)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		return keyErr("log.format", "must be text or json, not %q", c.Log.Format)
	}
	return nil
}

// checkTimeout refuses a timeout in months or years: "m" means months in
// every duration (as in retention's keep_within), so the "30m" one writes
// for half an hour would be 30 months, a cmdlet that hangs never killed.
func checkTimeout(key string, d Duration) error {
	if d.Months == 0 && d.Years == 0 {
		return nil
	}
	return keyErr(key, "%q counts months or years (m means months, as in retention): write a timeout in w, d, h, min or s, e.g. 30min", d.Text)
}

func (d *Destination) validate() error {
	if d.URL == "" {
		return keyErr("destination.url", "missing (s3://bucket/prefix, azblob://container/prefix, https://ACCOUNT.blob.core.windows.net/container, or file:///path)")
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		return keyErr("destination.url", "not a URL: %v", err)
	}
	switch u.Scheme {
	case "file", "s3", "azblob", "https", "http":
	default:
		return keyErr("destination.url", "unknown scheme %q (s3, azblob, https, file)", u.Scheme)
	}
	if d.ObjectLock != nil {
		switch strings.ToUpper(d.ObjectLock.Mode) {
		case "GOVERNANCE", "COMPLIANCE":
			d.ObjectLock.Mode = strings.ToUpper(d.ObjectLock.Mode)
		default:
			return keyErr("destination.object_lock.mode", "must be GOVERNANCE or COMPLIANCE, not %q", d.ObjectLock.Mode)
		}
		if err := lockDays("destination.object_lock.days", d.ObjectLock.Days); err != nil {
			return err
		}
	}
	if d.Immutability != nil {
		if err := lockDays("destination.immutability.days", d.Immutability.Days); err != nil {
			return err
		}
	}
	switch d.Checksum {
	case "", "when_supported", "when_required":
	default:
		return keyErr("destination.checksum", "must be when_supported or when_required, not %q", d.Checksum)
	}
	if d.Concurrency < 0 {
		return keyErr("destination.concurrency", "must not be negative")
	}
	if d.PartSize < 0 {
		return keyErr("destination.part_size", "must not be negative")
	}
	if u.Scheme == "file" {
		// A folder locks nothing: accepted, the sets were recorded as
		// locked until a date while anyone could delete them.
		if d.ObjectLock != nil {
			return keyErr("destination.object_lock", "a file:// folder cannot lock what it stores: use an S3 bucket with Object Lock (or an Azure container with immutability), or remove the key")
		}
		if d.Immutability != nil {
			return keyErr("destination.immutability", "a file:// folder cannot lock what it stores: use an Azure container with immutability (or an S3 bucket with Object Lock), or remove the key")
		}
	}
	if d.CAFile != "" {
		if u.Scheme == "file" {
			return keyErr("destination.ca_file", "a file:// destination has no TLS to trust a CA for: remove the key (it is for s3, azblob and https destinations)")
		}
		// Read now, so a bad file stops every command at once, with its
		// line, rather than the first request of an upload.
		if _, err := ReadCAFile(d.CAFile); err != nil {
			return keyErr("destination.ca_file", "%v", err)
		}
	}
	return nil
}

// MaxKeep bounds the counts of periods so that a set's keep-until date
// stays within 200 years, as durations are bounded: restic's habit of
// keep_yearly: 9999 put it past the year 9999, which neither a JSON date
// nor an object lock holds, and prune --json printed nothing.
var MaxKeep = map[string]int{"keep_hourly": 200 * 365 * 24, "keep_daily": 200 * 365, "keep_weekly": 200 * 52,
	"keep_monthly": 200 * 12, "keep_yearly": 200}

func (r *Retention) validate() error {
	for k, v := range map[string]int{"keep_last": r.KeepLast, "keep_hourly": r.KeepHourly, "keep_daily": r.KeepDaily,
		"keep_weekly": r.KeepWeekly, "keep_monthly": r.KeepMonthly, "keep_yearly": r.KeepYearly} {
		if v < 0 {
			return keyErr("retention."+k, "must not be negative")
		}
		if m, ok := MaxKeep[k]; ok && v > m {
			return keyErr("retention."+k, "at most %d (200 years of them: a larger number keeps nothing else)", m)
		}
	}
	if r.TimeZone != "" {
		// time/tzdata (imported by the retention package) makes this work on
		// Windows, which has no zoneinfo files.
		if _, err := time.LoadLocation(r.TimeZone); err != nil {
			return keyErr("retention.timezone", "unknown time zone %q (use an IANA name like Europe/Berlin, or Local)", r.TimeZone)
		}
	}
	return nil
}

// OfflineTier reports whether the destination writes to a tier that must
// be thawed before reading (S3 GLACIER / DEEP_ARCHIVE, Azure Archive).
func OfflineTier(d Destination) bool {
	switch strings.ToUpper(d.StorageClass) {
	case "GLACIER", "DEEP_ARCHIVE":
		return true
	}
	return strings.EqualFold(d.AccessTier, "archive")
}

// maxLockDays bounds a lock (100 years), far beyond any retention rule.
// Unbounded, 3000000 days put the retain-until date past the year 9999:
// VersityGW refused the first upload ("must be provided in ISO 8601
// format"), after the exports had run, with a cause naming no setting.
const maxLockDays = 36500

func lockDays(key string, days int) error {
	switch {
	case days < 1:
		return keyErr(key, "must be at least 1")
	case days > maxLockDays:
		return keyErr(key, "must be at most %d (100 years), not %d", maxLockDays, days)
	}
	return nil
}
