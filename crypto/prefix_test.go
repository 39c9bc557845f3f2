package crypto

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestPrefix: the prefix Encrypt reports is exactly the start of the
// object up to the first payload chunk (header, MAC line and nonce), with
// one recipient or several of both kinds, and PrefixLen finds the same
// length in the object.
func TestPrefix(t *testing.T) {
	a, _ := age.GenerateX25519Identity()
	b, _ := age.GenerateX25519Identity()
	ssh, err := ParseRecipient("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINiDWO3VN/qXIT7HArQoZtp+fhWHGiTKVENwNBunXOLz c")
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := ParseRecipient(a.Recipient().String())
	rb, _ := ParseRecipient(b.Recipient().String())
	for _, rs := range [][]Recipient{{ra}, {ra, rb, ssh}} {
		var buf bytes.Buffer
		w, err := Encrypt(&buf, rs)
		if err != nil {
			t.Fatal(err)
		}
		prefix := append([]byte{}, w.Prefix()...)
		io.WriteString(w, strings.Repeat("payload ", 20000))
		w.Close()
		obj := buf.Bytes()
		if len(prefix) == 0 || !bytes.HasPrefix(obj, prefix) {
			t.Fatalf("%d recipients: prefix of %d bytes is not the object's start", len(rs), len(prefix))
		}
		if n := PrefixLen(obj); n != len(prefix) {
			t.Fatalf("%d recipients: PrefixLen %d, prefix %d bytes", len(rs), n, len(prefix))
		}
		// The prefix ends 16 bytes (the nonce) after the MAC line.
		mac := bytes.LastIndex(prefix, []byte("\n---"))
		if mac < 0 || !bytes.HasSuffix(prefix[:len(prefix)-nonceSize], []byte("\n")) || bytes.Count(prefix[mac+1:len(prefix)-nonceSize], []byte("\n")) != 1 {
			t.Fatalf("prefix does not end with the MAC line and the nonce: %q", prefix)
		}
		// It decrypts with the prefix's own reader as well.
		r, err := Decrypt(bytes.NewReader(obj), []age.Identity{a})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(r); len(got) != 8*20000 {
			t.Fatalf("decrypted %d bytes", len(got))
		}
	}
	for _, bad := range []string{"", "age-encryption.org/v1\n", "age-encryption.org/v1\n-> X25519 x\nAAAA\n--- mac", "age-encryption.org/v1\n--- mac\nshort", "not age at all\n--- x\n0123456789abcdef"} {
		if n := PrefixLen([]byte(bad)); n != -1 {
			t.Errorf("PrefixLen(%q) = %d, want -1", bad, n)
		}
	}
}

// FuzzPrefixLen: any bytes give -1 or a length within them that ends 16
// bytes after a line starting with "---".
func FuzzPrefixLen(f *testing.F) {
	var buf bytes.Buffer
	id, _ := age.GenerateX25519Identity()
	r, _ := ParseRecipient(id.Recipient().String())
	w, _ := Encrypt(&buf, []Recipient{r})
	w.Write([]byte("hello"))
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("age-encryption.org/v1\n--- \n0123456789abcdef"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := PrefixLen(b)
		if n == -1 {
			return
		}
		if n < nonceSize+1 || n > len(b) || b[n-nonceSize-1] != '\n' {
			t.Fatalf("PrefixLen = %d for %d bytes", n, len(b))
		}
	})
}
