package archive

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// bakLike is database-dump-like data (fixed records with random fields),
// xmlLike text with random ids, as in the benchmark corpus.
func bakLike(n int, rng *rand.Rand) []byte {
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString("CDR")
		binaryRand(&b, rng, 8)
		b.Write(make([]byte, 24))
		rec := []byte(fmt.Sprintf("sip:user%d@contoso.com", rng.IntN(5000)+1))
		b.Write(append(rec, make([]byte, 48-len(rec))...))
		binaryRand(&b, rng, 16)
	}
	return b.Bytes()[:n]
}

func xmlLike(n int, rng *rand.Rand) []byte {
	var b bytes.Buffer
	areas := []string{"Voice", "Client", "Conferencing", "Archiving", "Registrar"}
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `<DocItem Name="urn:schema:Microsoft.Rtc.Management.Settings.%s.2008" Id="%016x"><Policy Identity="Tag:Policy%d" MaxMeetingSize="%d" LineUri="tel:+1425555%d" SipAddress="sip:user%d@contoso.com"/></DocItem>`+"\n",
			areas[rng.IntN(len(areas))], rng.Uint64(), i, rng.IntN(990)+10, rng.IntN(9000)+1000, i)
	}
	return b.Bytes()[:n]
}

func binaryRand(b *bytes.Buffer, rng *rand.Rand, n int) {
	for range n {
		b.WriteByte(byte(rng.Uint32()))
	}
}

func randomBytes(n int, rng *rand.Rand) []byte {
	var b bytes.Buffer
	binaryRand(&b, rng, n)
	return b.Bytes()
}

func TestChooseLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"database pages", bakLike(AutoSample, rng), "default"},
		{"xml with random ids", xmlLike(AutoSample, rng), "fastest"},
		{"incompressible (a tie: the cheaper one)", randomBytes(1<<20, rng), "fastest"},
		{"empty", nil, "default"},
		{"too short to judge", xmlLike(minTrial-1, rng), "default"},
	} {
		if got := ChooseLevel(c.data); got != c.want {
			t.Errorf("%s: ChooseLevel = %s, want %s", c.name, got, c.want)
		}
	}
}

// TestCompressAuto: the auto level round-trips streams shorter than, equal
// to and longer than its sample, whatever the write sizes, and reports the
// level it chose.
func TestCompressAuto(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bak := bakLike(AutoSample*2+12345, rng)
	xml := xmlLike(AutoSample+1, rng)
	for _, c := range []struct {
		name  string
		data  []byte
		chunk int
		want  string
	}{
		{"empty", nil, 1, "default"},
		{"short: no trial", xml[:1000], 7, "default"},
		{"just long enough for a trial", xml[:minTrial], 1000, "fastest"},
		{"exactly the sample", bak[:AutoSample], 1 << 20, "default"},
		{"one byte over", xml, AutoSample, "fastest"},
		{"long, writes across the sample's end", bak, 3<<20 + 1, "default"},
		{"long, one write", bak, len(bak), "default"},
	} {
		var buf bytes.Buffer
		zw, err := Compress(&buf, "auto", 0)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(c.data); off += c.chunk {
			end := min(off+c.chunk, len(c.data))
			if n, err := zw.Write(c.data[off:end]); err != nil || n != end-off {
				t.Fatalf("%s: write %d bytes: n=%d, %v", c.name, end-off, n, err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if zw.Level() != c.want {
			t.Errorf("%s: level %q, want %q", c.name, zw.Level(), c.want)
		}
		zr, err := Decompress(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		zr.Close()
		if err != nil || !bytes.Equal(got, c.data) {
			t.Fatalf("%s: round trip: %d bytes back of %d, %v", c.name, len(got), len(c.data), err)
		}
	}
	for _, lv := range []string{"fastest", "default"} {
		zw, err := Compress(io.Discard, lv, 1)
		if err != nil || zw.Level() != lv {
			t.Fatalf("%s: level %q, %v", lv, zw.Level(), err)
		}
		zw.Close()
	}
}
