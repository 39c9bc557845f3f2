// Package benchdata makes deterministic, corpus-like test data for the Go
// benchmarks (go test -bench): the same mix of text, database pages and
// incompressible media that ../shared/bench/mkcorpus.py writes, so that the
// per-stage MB/s of the benchmarks match what the end-to-end run sees.
// Set LYNCBACKUP_BENCH_DATA=FILE to benchmark on the bytes of a real file
// (e.g. a tar of the reference corpus) instead.
package benchdata

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

const mb = 1 << 20

// gen produces the three kinds of content mkcorpus.py writes.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x6c796e63))} }

var areas = []string{"Voice", "Client", "Conferencing", "Archiving", "Registrar"}

// xml returns n bytes of DocItemSet-like records (compresses about 4:1).
func (g *gen) xml(n int) []byte {
	out := make([]byte, 0, n+256)
	for i := 0; len(out) < n; i++ {
		out = fmt.Appendf(out, `<DocItem Name="urn:schema:Microsoft.Rtc.Management.Settings.%s.2008" Id="%016x"><Policy Identity="Tag:Policy%d" AllowIPVideo="%t" MaxMeetingSize="%d" LineUri="tel:+1425555%d" SipAddress="sip:user%d@contoso.com"/></DocItem>`+"\n",
			areas[g.r.IntN(len(areas))], g.r.Uint64(), i, g.r.IntN(2) == 0, 10+g.r.IntN(991), 1000+g.r.IntN(9000), i)
	}
	return out[:n]
}

// bak returns n bytes of SQL-backup-like records (semi-compressible).
func (g *gen) bak(n int) []byte {
	out := make([]byte, 0, n+8192)
	var rec [99]byte
	for len(out) < n {
		clear(rec[:])
		copy(rec[:], "CDR")
		g.fill(rec[3:11])
		copy(rec[35:], "sip:user"+strconv.Itoa(1+g.r.IntN(5000))+"@contoso.com")
		g.fill(rec[83:99])
		out = append(out, rec[:]...)
		if g.r.IntN(50) == 0 {
			out = append(out, g.random(4096)...)
		}
	}
	return out[:n]
}

func (g *gen) fill(p []byte) {
	for i := 0; i < len(p); i += 8 {
		v := g.r.Uint64()
		for j := i; j < len(p) && j < i+8; j++ {
			p[j] = byte(v)
			v >>= 8
		}
	}
}

func (g *gen) random(n int) []byte {
	p := make([]byte, n)
	g.fill(p)
	return p
}

// Mixed returns size bytes in the corpus' proportions: 45% database pages,
// 30% XML, 25% incompressible (zips, media), interleaved in 1 MiB runs.
func Mixed(size int, seed uint64) []byte {
	if f := os.Getenv("LYNCBACKUP_BENCH_DATA"); f != "" {
		if b, err := fromFile(f, size); err == nil {
			return b
		}
	}
	g := newGen(seed)
	out := make([]byte, 0, size)
	for i := 0; len(out) < size; i++ {
		n := min(mb, size-len(out))
		switch i % 20 {
		case 0, 1, 2, 3, 4, 5, 6, 7, 8:
			out = append(out, g.bak(n)...)
		case 9, 10, 11, 12, 13, 14:
			out = append(out, g.xml(n)...)
		default:
			out = append(out, g.random(n)...)
		}
	}
	return out
}

func fromFile(name string, size int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, size)
	n, err := io.ReadFull(f, b)
	if err == io.ErrUnexpectedEOF && n > 0 {
		return b[:n], nil
	}
	return b, err
}

// Tree writes a corpus-like folder of about size bytes under dir, laid out
// as mkcorpus.py does (exports/, sql/, filestore/ with many small files)
// and returns the number of files written.
func Tree(dir string, size int, seed uint64) (int, error) {
	g := newGen(seed)
	files := 0
	write := func(rel string, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		files++
		return os.WriteFile(p, data, 0o644)
	}
	for i := range 5 {
		if err := write(fmt.Sprintf("exports/Cs%d.zip", i), g.random(size/100)); err != nil {
			return files, err
		}
	}
	for _, db := range []string{"LcsCDR", "QoEMetrics", "LcsLog"} {
		if err := write("sql/"+db+".bak", g.bak(size*15/100)); err != nil {
			return files, err
		}
	}
	used := 0
	for n := 0; used < size*45/100; n++ {
		var data []byte
		ext := "xml"
		if g.r.IntN(10) < 9 {
			data = g.xml(1000 + g.r.IntN(63000))
		} else {
			data, ext = g.random(64000+g.r.IntN(min(4*mb, max(size/20, 64001))-64000)), "cab"
		}
		if err := write(fmt.Sprintf("filestore/1-WebServices-1/CollabContent/%03d/%06d.%s", n/200, n, ext), data); err != nil {
			return files, err
		}
		used += len(data)
	}
	return files, nil
}

// Size returns def, or LYNCBACKUP_BENCH_MB MiB when that is set, so that a
// benchmark can be run on a larger sample than the quick default.
func Size(def int) int {
	if v, err := strconv.Atoi(os.Getenv("LYNCBACKUP_BENCH_MB")); err == nil && v > 0 {
		return v * mb
	}
	return def
}
