// Package winname knows the names Windows will not give a file or folder:
// the device names, which the archive's restore renames and the config
// refuses for items and hosts.
package winname

import "strings"

// deviceStem is the part of a name Windows compares with the device
// names: up to the first dot, without trailing spaces.
func deviceStem(base string) string {
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	return strings.TrimRight(base, " ")
}

// Device returns the device Windows takes base (one path element) for, in
// upper case, or "": CON, PRN, AUX, NUL, CONIN$, CONOUT$, COM1-9, LPT1-9
// (and COM¹²³, LPT¹²³), in any case, alone or before a dot ("con.txt").
func Device(base string) string {
	s := strings.ToUpper(deviceStem(base))
	switch s {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return s
	}
	if len(s) == 4 && (strings.HasPrefix(s, "COM") || strings.HasPrefix(s, "LPT")) && s[3] >= '1' && s[3] <= '9' {
		return s
	}
	// COM¹ COM² COM³ LPT¹ LPT² LPT³ are reserved too.
	for _, sup := range []string{"¹", "²", "³"} {
		if s == "COM"+sup || s == "LPT"+sup {
			return s
		}
	}
	return ""
}
