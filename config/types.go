package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a span written in clock units ("36h", "90min", "30s") or
// calendar units: "30d", "2w", "1y2m" (m months, y = 365 days for ages;
// retention uses Calendar to step real months and years).
type Duration struct {
	Years, Months, Days int
	Clock               time.Duration
	Text                string
}

var durPart = regexp.MustCompile(`(\d+)(y|mo|min|m|w|d|h|s)`)

// ParseDuration parses "30d", "1y2m", "12h", "90d", "2w", "1h30min".
// "m" means months (as in restic's keep-within); "min" means minutes.
func ParseDuration(s string) (Duration, error) {
	d := Duration{Text: s}
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return d, nil
	}
	rest := s
	for rest != "" {
		loc := durPart.FindStringSubmatchIndex(rest)
		if loc == nil || loc[0] != 0 {
			return Duration{}, fmt.Errorf("invalid duration %q (use e.g. 30d, 12h, 1y2m)", s)
		}
		n, err := strconv.Atoi(rest[loc[2]:loc[3]])
		if err != nil || n > 100000 {
			return Duration{}, fmt.Errorf("invalid duration %q", s)
		}
		switch rest[loc[4]:loc[5]] {
		case "y":
			d.Years += n
		case "m", "mo":
			d.Months += n
		case "w":
			d.Days += 7 * n
		case "d":
			d.Days += n
		case "h":
			d.Clock += time.Duration(n) * time.Hour
		case "min":
			d.Clock += time.Duration(n) * time.Minute
		case "s":
			d.Clock += time.Duration(n) * time.Second
		}
		rest = rest[loc[1]:]
		// Checked after every part, so no sum can wrap: each part adds
		// at most 100000 years' worth of days or hours.
		if d.days() > maxDays {
			return Duration{}, fmt.Errorf("duration %q is too long (at most %d years)", s, maxDays/365)
		}
	}
	return d, nil
}

// maxDays bounds a duration (200 years): every Approx (a time.Duration
// holds at most ~292 years) and every date it is added to stay exact.
// Without it "300y" wrapped to a negative span and "584y344d" to 25
// minutes, so a grace or a timeout meant far less than was written.
const maxDays = 200 * 365

// days is the duration in whole days as Approx counts them (365-day
// years, 30-day months), its clock part rounded up.
func (d Duration) days() int64 {
	c := int64(d.Clock / (24 * time.Hour))
	if d.Clock%(24*time.Hour) != 0 {
		c++
	}
	return int64(d.Years)*365 + int64(d.Months)*30 + int64(d.Days) + c
}

// IsZero reports an unset duration.
func (d Duration) IsZero() bool {
	return d.Years == 0 && d.Months == 0 && d.Days == 0 && d.Clock == 0
}

// Before returns t minus the duration, stepping calendar units in t's zone.
func (d Duration) Before(t time.Time) time.Time {
	return t.AddDate(-d.Years, -d.Months, -d.Days).Add(-d.Clock)
}

// After returns t plus the duration, stepping calendar units in t's zone.
func (d Duration) After(t time.Time) time.Time {
	return t.AddDate(d.Years, d.Months, d.Days).Add(d.Clock)
}

// Approx converts to a time.Duration with 365-day years and 30-day months
// (for timeouts and grace periods, where calendar precision does not matter).
func (d Duration) Approx() time.Duration {
	days := d.Years*365 + d.Months*30 + d.Days
	return time.Duration(days)*24*time.Hour + d.Clock
}

func (d Duration) String() string { return d.Text }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a duration like 30d", n.Line)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*d = v
	return nil
}

// Size is a byte count written as "16MiB", "64MB", "1GiB" or a plain number.
type Size int64

var sizeRe = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?$`)

// ParseSize parses a human byte size.
func ParseSize(s string) (int64, error) {
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid size %q (use e.g. 16MiB)", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	mult := 1.0
	u := strings.TrimSuffix(m[2], "B")
	if u != "" {
		base := 1000.0
		if strings.HasSuffix(u, "i") {
			base = 1024
			u = strings.TrimSuffix(u, "i")
		}
		mult = math.Pow(base, float64(strings.Index("KMGT", u)+1))
	}
	v := f * mult
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return int64(v), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*s = Size(v)
	return nil
}

// Rate is bytes per second, written "20MiB/s" (the "/s" is optional).
type Rate int64

// ParseRate parses "20MiB/s".
func ParseRate(s string) (int64, error) {
	return ParseSize(strings.TrimSuffix(strings.TrimSpace(s), "/s"))
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseRate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*r = Rate(v)
	return nil
}

// StringOrList accepts either a single word ("all", "auto") or a list.
type StringOrList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *StringOrList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = []string{n.Value}
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*s = l
		return nil
	}
	if n.Kind == yaml.MappingNode {
		// The kind names the entry when a flow mapping holds several.
		return fmt.Errorf("line %d: expected a word or a list, not a mapping", n.Line)
	}
	return fmt.Errorf("line %d: expected a word or a list", n.Line)
}

// Auto reports whether the value is unset or the word "auto".
func (s StringOrList) Auto() bool { return len(s) == 0 || (len(s) == 1 && s[0] == "auto") }

// All reports whether the value is the word "all".
func (s StringOrList) All() bool { return len(s) == 1 && s[0] == "all" }

// keyAtLine returns the dotted key path of the mapping entry the parser
// complained about on line. Several entries can share a line (flow style),
// so msg picks the right one: the unknown key's name, the offending value
// (`cannot unmarshal !!str `x“, `invalid size "x"`) or the node kind.
func keyAtLine(data []byte, line int, msg string) string {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return ""
	}
	var keyHint, valHint, kindHint string
	if m := notFound.FindStringSubmatch(msg); m != nil {
		keyHint = m[1]
	} else if m := cannotUnm.FindStringSubmatch(msg); m != nil {
		valHint = m[2]
	} else if m := cannotUnmKind.FindStringSubmatch(msg); m != nil {
		kindHint = m[1]
	} else if strings.HasSuffix(msg, ", not a mapping") {
		kindHint = "map"
	} else if m := quotedValue.FindStringSubmatch(msg); m != nil {
		valHint = m[1]
	}
	type cand struct {
		path string
		k, v *yaml.Node // k is nil for a list element
	}
	var cands []cand
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line || v.Line == line {
					cands = append(cands, cand{p, k, v})
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Line == line {
					cands = append(cands, cand{p, nil, c})
				}
				walk(c, p)
			}
		}
	}
	walk(&root, "")
	kinds := map[string]yaml.Kind{"map": yaml.MappingNode, "seq": yaml.SequenceNode}
	for i := len(cands) - 1; i >= 0; i-- { // deepest first: "a: {b: {c: 1}}"
		c := cands[i]
		switch {
		case keyHint != "" && c.k != nil && c.k.Value == keyHint && c.k.Line == line,
			valHint != "" && c.v.Kind == yaml.ScalarNode && sameValue(c.v.Value, valHint) && c.v.Line == line,
			kindHint != "" && c.v.Kind == kinds[kindHint] && c.v.Line == line:
			return c.path
		}
	}
	for _, c := range cands {
		if c.v.Kind == yaml.ScalarNode || (c.k != nil && c.k.Line == line) {
			return c.path
		}
	}
	return ""
}

// sameValue: the parser quotes a value longer than 10 characters cut to 7
// and "..." ("fourtee..."); such a hint matches the values it begins.
func sameValue(v, hint string) bool {
	if cut, ok := strings.CutSuffix(hint, "..."); ok && len(hint) == 10 {
		return strings.HasPrefix(v, cut)
	}
	return v == hint
}

var keyPart = regexp.MustCompile(`^([^.\[]+)((?:\[\d+\])*)`)

// lineOfKey finds the line of a dotted key path ("exporters[1].paths") in
// data; for a key that is missing it returns the line of the nearest
// ancestor that is present (0 when none is).
func lineOfKey(data []byte, key string) int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return 0
	}
	n := root.Content[0]
	line := 0
	for _, part := range strings.Split(key, ".") {
		m := keyPart.FindStringSubmatch(part)
		if m == nil || n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == m[1] {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		for _, idx := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
			i, _ := strconv.Atoi(idx)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}
