package retention

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

func TestFromConfigCopiesEveryKey(t *testing.T) {
	within, _ := config.ParseDuration("90d")
	minAge, _ := config.ParseDuration("1y2mo")
	grace, _ := config.ParseDuration("36h")
	p, err := FromConfig(config.Retention{KeepLast: 1, KeepHourly: 2, KeepDaily: 3, KeepWeekly: 4, KeepMonthly: 5, KeepYearly: 6,
		KeepWithin: within, MinAge: minAge, Grace: grace, TimeZone: "Europe/Berlin", CountPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Last != 1 || p.Hourly != 2 || p.Daily != 3 || p.Weekly != 4 || p.Monthly != 5 || p.Yearly != 6 {
		t.Errorf("counts: %+v", p)
	}
	if p.Within.Days != 90 || p.Within.Text != "90d" || p.MinAge.Years != 1 || p.MinAge.Months != 2 {
		t.Errorf("spans: within %+v min_age %+v", p.Within, p.MinAge)
	}
	if p.Grace != 36*time.Hour || !p.CountPartial {
		t.Errorf("grace %v count_partial %v", p.Grace, p.CountPartial)
	}
	if p.Location.String() != "Europe/Berlin" {
		t.Errorf("location %v", p.Location)
	}
	if !strings.Contains(p.String(), "periods in Europe/Berlin") {
		t.Errorf("String() = %q", p.String())
	}
}

func TestFromConfigUnknownZoneIsAConfigError(t *testing.T) {
	_, err := FromConfig(config.Retention{TimeZone: "Mars/Olympus"})
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "retention.timezone" || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Fatalf("err = %v", err)
	}
}

func TestLocalZoneName(t *testing.T) {
	noLink := func(string) (string, error) { return "", errors.New("no link") }
	link := func(target string) func(string) (string, error) {
		return func(string) (string, error) { return target, nil }
	}
	env := func(tz string) func(string) string { return func(string) string { return tz } }
	for _, c := range []struct {
		tz, link, want string
	}{
		{"Europe/Berlin", "", "Europe/Berlin"},
		{":America/New_York", "", "America/New_York"},
		{"/usr/share/zoneinfo/Asia/Tokyo", "", ""},
		{"", "/usr/share/zoneinfo/Europe/Vienna", "Europe/Vienna"},
		{"", "../usr/share/zoneinfo/Etc/UTC", "Etc/UTC"},
		{"", "/some/other/file", ""},
	} {
		rl := noLink
		if c.link != "" {
			rl = link(c.link)
		}
		if got := localZoneName(env(c.tz), rl); got != c.want {
			t.Errorf("TZ=%q link=%q: %q, want %q", c.tz, c.link, got, c.want)
		}
	}
}

func TestZoneNameNeverSaysLocal(t *testing.T) {
	if got := ZoneName(time.Local); got == "Local" || got == "" {
		t.Fatalf("ZoneName(time.Local) = %q", got)
	}
	if got := ZoneName(time.UTC); got != "UTC" {
		t.Fatalf("ZoneName(UTC) = %q", got)
	}
}
