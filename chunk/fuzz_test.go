package chunk

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
)

// fuzzIdentity is a fixed test identity, so that saved fuzz inputs stay
// meaningful from run to run. Its recipient is public, as a real one is:
// anyone may write a valid age file for it.
const fuzzIdentity = "AGE-SECRET-KEY-12WXA9R8YD9DVF8QWEV45XA84K4UR75YC2W3JU6NMKHFCKD6DXZMSRPW9NX"

// sealForFuzz is plain compressed as one zstd frame in one age file for
// fuzzIdentity's recipient.
func sealForFuzz(t testing.TB, id *age.X25519Identity, plain []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	r, err := crypto.ParseRecipient(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	var obj bytes.Buffer
	if err := encrypt(&obj, []crypto.Recipient{r}, enc.EncodeAll(plain, nil)); err != nil {
		t.Fatal(err)
	}
	return obj.Bytes()
}

// FuzzOpen: a stored chunk object is untrusted input (an attacker who can
// write to the store can write a valid age file for the public recipient).
// Whatever its bytes, Open returns the manifest's number of plaintext
// bytes or one error line; it never panics, and a frame that expands
// beyond a chunk (a decompression bomb) is refused, not decoded.
func FuzzOpen(f *testing.F) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		f.Fatal(err)
	}
	const plainBytes = 64 << 10
	good := sealForFuzz(f, id, bytes.Repeat([]byte("lync "), plainBytes/5+1)[:plainBytes])
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(append(append([]byte{}, good...), 0))
	f.Add(sealForFuzz(f, id, make([]byte, 64<<20))) // expands far beyond MaxSize
	f.Add(sealForFuzz(f, id, nil))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 \n--- \n"))
	f.Fuzz(func(t *testing.T, stored []byte) {
		c := catalog.Chunk{Key: "h/chunks/ab/x.zst.age", PlainBytes: plainBytes, StoredBytes: int64(len(stored))}
		own := getBuf(len(stored))
		copy(own, stored)
		plain, err := Open(own, c, []age.Identity{id})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if int64(len(plain)) != c.PlainBytes {
			t.Fatalf("Open returned %d bytes, the manifest says %d", len(plain), c.PlainBytes)
		}
		putBuf(plain)
	})
}

// A chunk whose frame expands beyond the largest chunk is refused while
// it is decoded: the decoder stops at MaxSize instead of allocating what
// the frame asks for.
func TestOpenRefusesExpansion(t *testing.T) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		t.Fatal(err)
	}
	bomb := sealForFuzz(t, id, make([]byte, 64<<20))
	c := catalog.Chunk{Key: "h/chunks/ab/x.zst.age", PlainBytes: 1 << 20, StoredBytes: int64(len(bomb))}
	var before, after runtimeMem
	before.read()
	_, err = Open(bomb, c, []age.Identity{id})
	after.read()
	if err == nil || !strings.Contains(err.Error(), "decompress") {
		t.Fatalf("err = %v, want a refused decompression", err)
	}
	if grew := after.total - before.total; grew > 4*MaxSize {
		t.Fatalf("Open allocated %d MiB for a chunk of at most %d MiB", grew>>20, MaxSize>>20)
	}
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}
