package progress

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// HumanBytes formats a size with binary units ("1.5 MiB").
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// HumanDuration rounds for people: 1.234s, 1m2s, 1h2m3s.
func HumanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "?"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// FitName shortens name to at most width runes, keeping its start and its
// end (where item names differ: "userdata-pool01…contoso.com") with "…" in
// between. Names that fit are returned as they are.
func FitName(name string, width int) string {
	n := utf8.RuneCountInString(name)
	if n <= width {
		return name
	}
	if width <= 0 {
		return ""
	}
	if width == 1 {
		return "…"
	}
	r := []rune(name)
	head := (width - 1) / 2
	tail := width - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// minName is the fewest runes of a name a line keeps.
const minName = 12

// barCells draws a bar of width cells filled to pct (0..100).
func barCells(width int, pct float64) string {
	if width < 3 {
		return ""
	}
	inner := width - 2
	fill := int(float64(inner) * pct / 100)
	fill = max(0, min(inner, fill))
	b := strings.Repeat("=", fill)
	if fill < inner {
		b += ">" + strings.Repeat(" ", inner-fill-1)
	}
	return "[" + b + "]"
}

// ItemFigures is the fixed part of an item's line: what a line never
// drops for a long name.
func ItemFigures(s Snapshot) string {
	switch {
	case s.Done && errors.Is(s.Err, context.Canceled):
		return fmt.Sprintf("interrupted after %s", HumanDuration(s.Elapsed))
	case s.Done && s.Err != nil:
		return fmt.Sprintf("FAILED after %s", HumanDuration(s.Elapsed))
	case s.Done:
		size := HumanBytes(s.Read)
		if s.Stored != s.Read {
			size += " → " + HumanBytes(s.Stored)
		}
		return fmt.Sprintf("done  %s  %s/s  in %s", size, HumanBytes(int64(s.Rate)), HumanDuration(s.Elapsed))
	case s.Percent >= 0:
		txt := fmt.Sprintf("%3.0f%%  %s/%s  %s/s", s.Percent, HumanBytes(s.ProgressBytes), HumanBytes(s.Total), HumanBytes(int64(s.Rate)))
		if s.ETA >= 0 {
			txt += "  ETA " + HumanDuration(s.ETA)
		}
		return txt
	}
	return fmt.Sprintf("read %s  stored %s  %s/s", HumanBytes(s.Read), HumanBytes(s.Stored), HumanBytes(int64(s.Rate)))
}

// RenderItem is an item's line in at most width columns: the name
// (shortened if it must be), a bar when the total is known and there is
// room, and the figures, which are never cut for the name.
func RenderItem(s Snapshot, width int) string {
	fig := ItemFigures(s)
	return layout(s.Name, fig, s.Percent, !s.Done && s.Percent >= 0, width)
}

// OverallFigures is the run's line: items done (of total), bytes, rate, ETA.
func OverallFigures(o Overall) string {
	var b strings.Builder
	if o.ItemsTotal >= 0 {
		fmt.Fprintf(&b, "%d/%d items", o.ItemsDone, o.ItemsTotal)
	} else {
		fmt.Fprintf(&b, "%d/%d items done", o.ItemsDone, o.ItemsStarted)
	}
	if o.ItemsFailed > 0 {
		fmt.Fprintf(&b, " (%d failed)", o.ItemsFailed)
	}
	if o.Percent >= 0 {
		fmt.Fprintf(&b, "  %3.0f%%  %s/%s", o.Percent, HumanBytes(o.Bytes), HumanBytes(o.TotalBytes))
	} else {
		fmt.Fprintf(&b, "  %s", HumanBytes(o.Bytes))
	}
	fmt.Fprintf(&b, "  %s/s", HumanBytes(int64(o.Rate)))
	if o.ETA > 0 {
		b.WriteString("  ETA " + HumanDuration(o.ETA))
	}
	b.WriteString("  " + HumanDuration(o.Elapsed.Round(time.Second)))
	return b.String()
}

// RenderOverall is the run's line in at most width columns.
func RenderOverall(o Overall, width int) string {
	return layout("total", OverallFigures(o), o.Percent, o.Percent >= 0, width)
}

// layout joins name, bar and figures into width columns: figures first,
// then the name (shortened to fit, at least minName runes), then a bar in
// what is left (at least 10 cells, else none).
func layout(name, fig string, pct float64, withBar bool, width int) string {
	figW := utf8.RuneCountInString(fig)
	nameW := utf8.RuneCountInString(name)
	room := width - figW - 2
	if nameW > room {
		nameW = max(minName, room)
	}
	name = FitName(name, nameW)
	used := utf8.RuneCountInString(name) + 2 + figW
	bar := ""
	if withBar {
		if bw := min(40, width-used-2); bw >= 10 {
			bar = barCells(bw, pct)
		}
	}
	if bar != "" {
		return name + "  " + bar + "  " + fig
	}
	return name + "  " + fig
}
