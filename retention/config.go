package retention

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

// FromConfig turns the config's retention section into a Policy. An unknown
// time zone is a *config.Error (exit 2). An empty or "Local" zone is the
// machine's, resolved to its real name where the system tells it.
func FromConfig(r config.Retention) (Policy, error) {
	p := Policy{
		Last: r.KeepLast, Hourly: r.KeepHourly, Daily: r.KeepDaily, Weekly: r.KeepWeekly,
		Monthly: r.KeepMonthly, Yearly: r.KeepYearly,
		Within: spanOf(r.KeepWithin), MinAge: spanOf(r.MinAge), CountPartial: r.CountPartial,
		Grace: r.Grace.Approx(), Location: LocalZone(),
	}
	if r.TimeZone != "" && r.TimeZone != "Local" {
		loc, err := time.LoadLocation(r.TimeZone)
		if err != nil {
			return p, &config.Error{Key: "retention.timezone", Msg: fmt.Sprintf("unknown time zone %q (use an IANA name like Europe/Berlin, or Local)", r.TimeZone)}
		}
		p.Location = loc
	}
	return p, nil
}

// GraceOf is the grace period of incomplete sets that r gives
// (retention.grace, else DefaultGrace): what a backup's lease lasts and
// which unfinished uploads are stale.
func GraceOf(r config.Retention) time.Duration {
	return Policy{Grace: r.Grace.Approx()}.grace()
}

func spanOf(d config.Duration) Span {
	return Span{Years: d.Years, Months: d.Months, Days: d.Days, Clock: d.Clock, Text: d.Text}
}

// LocalZone is time.Local under its real name ("Europe/Berlin" rather than
// "Local") when $TZ or /etc/localtime says which zone it is; else
// time.Local itself. Windows zone names are not IANA names: there it stays
// time.Local, shown with its abbreviation and offset (see ZoneName).
func LocalZone() *time.Location {
	name := localZoneName(os.Getenv, os.Readlink)
	if name == "" {
		return time.Local
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.Local
	}
	return loc
}

// localZoneName finds the IANA name of the machine's zone: $TZ (without
// the leading ':'), else the target of the /etc/localtime link below a
// zoneinfo folder.
func localZoneName(getenv func(string) string, readlink func(string) (string, error)) string {
	if tz, ok := strings.CutPrefix(getenv("TZ"), ":"); ok || tz != "" {
		if tz == "" || filepath.IsAbs(tz) || strings.HasPrefix(tz, "/") { // a file, also when Windows sees it rooted but driveless
			return ""
		}
		return tz
	}
	target, err := readlink("/etc/localtime")
	if err != nil {
		return ""
	}
	target = filepath.ToSlash(target)
	if _, after, ok := strings.Cut(target, "zoneinfo/"); ok && after != "" {
		return after
	}
	return ""
}

// ZoneName is how a location is shown to people: its name, or for an
// unnamed local zone ("Local") the current abbreviation and UTC offset.
func ZoneName(loc *time.Location) string {
	if loc == nil {
		loc = LocalZone()
	}
	if loc.String() != "Local" {
		return loc.String()
	}
	abbr, off := time.Now().In(loc).Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("%s, UTC%s%02d:%02d", abbr, sign, off/3600, off%3600/60)
}
