// Package wintext reads text as Windows programs and editors write it:
// UTF-8 with or without a byte-order mark, or UTF-16 (little or big
// endian, with a byte-order mark, or without one as PowerShell writes when
// its output encoding is Unicode).
package wintext

import (
	"bytes"
	"unicode/utf16"
)

// Decode returns b as UTF-8 text: a UTF-8 byte-order mark removed, UTF-16
// decoded. Other bytes are returned as they are (valid UTF-8 or not).
func Decode(b []byte) []byte {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return UTF16(b[2:], false)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return UTF16(b[2:], true)
	case len(b) >= 4 && b[1] == 0 && b[3] == 0 && b[0] != 0:
		return UTF16(b, false)
	case len(b) >= 4 && b[0] == 0 && b[2] == 0 && b[1] != 0:
		return UTF16(b, true)
	}
	return b
}

// UTF16 decodes UTF-16 without a byte-order mark; a trailing odd byte is
// dropped.
func UTF16(b []byte, bigEndian bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	return []byte(string(utf16.Decode(u)))
}
