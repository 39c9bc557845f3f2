package s3

// Upload and download throughput against the loopback VersityGW
// (go test -run '^$' -bench . ./upload/s3/), for choosing part size and
// concurrency. The server runs on the same cores, so these numbers are
// client + server work, as in bench/run.sh.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
)

const benchObject = 256 << 20

// repeatReader yields n bytes cycling over an incompressible block.
type repeatReader struct {
	block []byte
	off   int
	left  int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	r.left -= int64(n)
	return n, nil
}

func benchBlock() []byte {
	b := make([]byte, 4<<20+13)
	rng := rand.NewChaCha8([32]byte{7})
	rng.Read(b)
	return b
}

func benchStore(b *testing.B, part int64, conc int) *Store {
	srv := testenv.VersityGW(b)
	srv.SetEnv(b)
	st, err := Open(context.Background(), Options{Bucket: srv.Bucket(b, false), Endpoint: srv.Endpoint, PathStyle: true, PartSize: part, Concurrency: conc})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func BenchmarkPut(b *testing.B) {
	block := benchBlock()
	for _, c := range []struct {
		part int64
		conc int
	}{{MinPartSize, 2}, {8 << 20, 3}, {8 << 20, 4}, {DefaultPartSize, DefaultConcurrency}} {
		b.Run(fmt.Sprintf("part=%dMiB/conc=%d", c.part>>20, c.conc), func(b *testing.B) {
			st := benchStore(b, c.part, c.conc)
			b.SetBytes(benchObject)
			i := 0
			for b.Loop() {
				i++
				key := fmt.Sprintf("obj-%d", i)
				if _, err := st.Put(context.Background(), key, &repeatReader{block: block, left: benchObject}, upload.PutOptions{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				st.Delete(context.Background(), key)
				b.StartTimer()
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	block := benchBlock()
	for _, c := range []struct {
		part int64
		conc int
	}{{8 << 20, 2}, {8 << 20, 3}, {DefaultPartSize, DefaultConcurrency}} {
		b.Run(fmt.Sprintf("chunk=%dMiB/conc=%d", c.part>>20, c.conc), func(b *testing.B) {
			st := benchStore(b, c.part, c.conc)
			if _, err := st.Put(context.Background(), "obj", &repeatReader{block: block, left: benchObject}, upload.PutOptions{}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(benchObject)
			buf := make([]byte, 1<<20)
			for b.Loop() {
				rc, err := st.Get(context.Background(), "obj", 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.CopyBuffer(io.Discard, rc, buf); err != nil || n != benchObject {
					b.Fatalf("read %d bytes: %v", n, err)
				}
				rc.Close()
			}
		})
	}
}

// BenchmarkPutChunks stores chunk-sized objects (1.3 MB, as the chunked
// format's) eight at a time from memory, as chunk.Writer does: the cost per
// object of a request, its body's writes and the server's file.
func BenchmarkPutChunks(b *testing.B) {
	const size, batch = 1300 << 10, 64
	block := benchBlock()[:size]
	st := benchStore(b, DefaultPartSize, DefaultConcurrency)
	b.SetBytes(size * batch)
	round := 0
	for b.Loop() {
		round++
		sem := make(chan struct{}, 8)
		errs := make(chan error, batch)
		for i := range batch {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				_, err := st.Put(context.Background(), fmt.Sprintf("c-%d-%d", round, i), bytes.NewBuffer(block), upload.PutOptions{})
				errs <- err
			}()
		}
		for range batch {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
}
