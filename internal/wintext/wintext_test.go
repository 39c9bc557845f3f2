package wintext

import (
	"testing"
	"unicode/utf16"
)

func utf16Bytes(s string, bigEndian bool) []byte {
	var out []byte
	for _, c := range utf16.Encode([]rune(s)) {
		if bigEndian {
			out = append(out, byte(c>>8), byte(c))
		} else {
			out = append(out, byte(c), byte(c>>8))
		}
	}
	return out
}

// TestDecode: every form Windows writes text in comes back as the same
// UTF-8; anything else is returned byte for byte (binary included).
func TestDecode(t *testing.T) {
	const s = "Größe: 5 MiB ✓\r\n"
	for name, in := range map[string][]byte{
		"utf-8":             []byte(s),
		"utf-8 with bom":    append([]byte{0xEF, 0xBB, 0xBF}, s...),
		"utf-16le with bom": append([]byte{0xFF, 0xFE}, utf16Bytes(s, false)...),
		"utf-16be with bom": append([]byte{0xFE, 0xFF}, utf16Bytes(s, true)...),
		"utf-16le, no bom":  utf16Bytes(s, false),
		"utf-16be, no bom":  utf16Bytes(s, true),
	} {
		if got := string(Decode(in)); got != s {
			t.Errorf("%s: %q", name, got)
		}
	}
	bin := []byte("age-encryption.org/v1\n\xff\x00\x01\x80")
	if got := Decode(bin); string(got) != string(bin) {
		t.Errorf("binary changed: %q", got)
	}
	if got := string(UTF16([]byte{'a', 0, 'b'}, false)); got != "a" {
		t.Errorf("odd byte: %q", got)
	}
}

// TestDecodeShortestUTF16: two characters of UTF-16 without a byte-order
// mark (4 bytes, the shortest the guess takes) are decoded.
func TestDecodeShortestUTF16(t *testing.T) {
	for _, be := range []bool{false, true} {
		if got := string(Decode(utf16Bytes("ok", be))); got != "ok" {
			t.Errorf("big endian %v: %q", be, got)
		}
	}
	if got := string(Decode([]byte("ok\x00"))); got != "ok\x00" {
		t.Errorf("3 bytes: %q", got)
	}
}
