package crypto

// age stream throughput (go test -run '^$' -bench . ./crypto/): the
// encryption stage of the backup pipeline and the decryption of restore.

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"filippo.io/age"
)

func BenchmarkAge(b *testing.B) {
	data := make([]byte, 64<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	r, err := ParseRecipient(id.Recipient().String())
	if err != nil {
		b.Fatal(err)
	}
	var sealed bytes.Buffer
	b.Run("encrypt", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sealed.Reset()
			w, err := Encrypt(&sealed, []Recipient{r})
			if err != nil {
				b.Fatal(err)
			}
			// 128 KiB writes, as the zstd encoder hands its blocks on.
			for p := data; len(p) > 0; p = p[min(len(p), 128<<10):] {
				if _, err := w.Write(p[:min(len(p), 128<<10)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decrypt", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			rd, err := Decrypt(bytes.NewReader(sealed.Bytes()), []age.Identity{id})
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, rd); err != nil || n != int64(len(data)) {
				b.Fatalf("decrypted %d bytes: %v", n, err)
			}
		}
	})
}
