package winname

import "testing"

func TestDevice(t *testing.T) {
	for name, want := range map[string]string{
		"con": "CON", "Con.cfg": "CON", "NUL": "NUL", "aux.tar.zst": "AUX", "com1": "COM1", "LPT9.x": "LPT9",
		"COM²": "COM²", "conin$": "CONIN$", "nul .txt": "NUL",
		"console": "", "com0": "", "com10": "", "certs": "", "": "", "a.con": "",
	} {
		if got := Device(name); got != want {
			t.Errorf("Device(%q) = %q, want %q", name, got, want)
		}
	}
}
