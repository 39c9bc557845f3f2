package archive

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
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

// mixedBakLike alternates bak KiB of bakLike with random KiB of random
// bytes: the default level's saving falls between none and bakLike's.
func mixedBakLike(n, bak, random int, rng *rand.Rand) []byte {
	var b bytes.Buffer
	for b.Len() < n {
		b.Write(bakLike(bak<<10, rng))
		binaryRand(&b, rng, random<<10)
	}
	return b.Bytes()[:n]
}

func TestChoose(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"database pages (random fields: raw literals)", bakLike(AutoSample, rng), "default-rawlit"},
		{"xml with random ids", xmlLike(AutoSample, rng), "fastest"},
		{"incompressible (a tie: the cheaper one)", randomBytes(1<<20, rng), "fastest-rawlit"},
		{"empty", nil, "default"},
		{"too short to judge", xmlLike(minTrial-1, rng), "default"},
	} {
		if got := Choose(c.data).String(); got != c.want {
			t.Errorf("%s: Choose = %s, want %s", c.name, got, c.want)
		}
	}
}

// TestChooseChunks: for chunks the default level must save 1% over the
// fastest one, for one stream 0.1%. Samples on either side and between
// the two margins; at least one between, or the test could not tell the
// margins apart.
func TestChooseChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	samples := map[string][]byte{
		"database pages":         bakLike(1<<20, rng),
		"xml with random ids":    xmlLike(1<<20, rng),
		"incompressible":         randomBytes(1<<20, rng),
		"pages 4 KiB, rand 12":   mixedBakLike(1<<20, 4, 12, rng),
		"pages 8 KiB, rand 8":    mixedBakLike(1<<20, 8, 8, rng),
		"pages 64 KiB, rand 128": mixedBakLike(1<<20, 64, 128, rng),
	}
	between := 0
	for name, d := range samples {
		fs, ds := trialSize(d, Choice{Level: "fastest"}), trialSize(d, Choice{Level: "default"})
		saved := float64(fs-ds) / float64(fs)
		want := func(margin float64) string {
			if saved > margin {
				return "default"
			}
			return "fastest"
		}
		if saved > 0.0011 && saved < 0.0099 {
			between++
		}
		if got := Choose(d).Level; got != want(0.001) {
			t.Errorf("%s (default saves %.3f%%): Choose = %s, want %s", name, 100*saved, got, want(0.001))
		}
		if got := ChooseChunks(d).Level; got != want(0.01) {
			t.Errorf("%s (default saves %.3f%%): ChooseChunks = %s, want %s", name, 100*saved, got, want(0.01))
		}
	}
	if between == 0 {
		t.Error("no sample where the default level saves between 0.1% and 1%")
	}
	if got := ChooseChunks(xmlLike(minTrial-1, rng)).String(); got != "default" {
		t.Errorf("too short to judge: ChooseChunks = %s, want default", got)
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
		{"exactly the sample", bak[:AutoSample], 1 << 20, "default-rawlit"},
		{"one byte over", xml, AutoSample, "fastest"},
		{"long, writes across the sample's end", bak, 3<<20 + 1, "default-rawlit"},
		{"long, one write", bak, len(bak), "default-rawlit"},
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

// TestCompressAutoWatch: raw literals chosen on a random-looking start
// stay under watch; when text follows, the rest of the stream goes back to
// Huffman-coded literals in a frame of its own, which our decoder and stock
// zstd -d read as one stream. A stream that stays random-looking keeps raw
// literals in one frame.
func TestCompressAutoWatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	bak := bakLike(AutoSample+3<<20, rng)
	text := xmlLike(24<<20, rng)
	mixed := append(append([]byte{}, bak...), text...)

	compress := func(data []byte) ([]byte, string) {
		t.Helper()
		var buf bytes.Buffer
		zw, err := Compress(&buf, "auto", 0)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += 100_000 {
			if _, err := zw.Write(data[off:min(off+100_000, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		zr, err := Decompress(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %d bytes back of %d, %v", len(got), len(data), err)
		}
		return buf.Bytes(), zw.Level()
	}
	frames := func(b []byte) int { return bytes.Count(b, []byte{0x28, 0xb5, 0x2f, 0xfd}) }

	same, lv := compress(bak)
	if lv != "default-rawlit" || frames(same) != 1 {
		t.Errorf("random-looking throughout: level %q, %d frames; want default-rawlit in 1", lv, frames(same))
	}
	out, lv := compress(mixed)
	if lv != "default" {
		t.Errorf("text after the sample: level %q, want default (raw literals given up)", lv)
	}
	if frames(out) != 2 {
		t.Errorf("text after the sample: %d frames, want 2", frames(out))
	}
	// The text part costs what Huffman-coded literals make of it, but for
	// what was written before the watch saw it: up to two sampling
	// intervals (of 128 KiB blocks) and one write step.
	huff := trialSize(text, Choice{Level: "default"})
	raw := trialSize(text, Choice{Level: "default", RawLits: true})
	late := int64(2*watchEvery)<<17 + watchStep
	extra := int64(len(out) - len(same))
	if extra > huff+(raw-huff)*late/int64(len(text)) {
		t.Errorf("text part stored in %d bytes; Huffman-coded alone %d, raw %d", extra, huff, raw)
	}
	t.Logf("text part: %d bytes; Huffman-coded alone %d, raw %d", extra, huff, raw)
	if _, err := exec.LookPath("zstd"); err == nil {
		cmd := exec.Command("zstd", "-d", "-q", "-c")
		cmd.Stdin = bytes.NewReader(out)
		got, err := cmd.Output()
		if err != nil || !bytes.Equal(got, mixed) {
			t.Errorf("zstd -d: %d bytes of %d, %v", len(got), len(mixed), err)
		}
	}
}
