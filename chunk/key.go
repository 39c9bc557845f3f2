// Package chunk is the chunk room of the chunked format (docs/FORMAT.md): it
// cuts an item's tar stream at content-defined points, names each chunk by a
// keyed hash of its plaintext, finds which chunks a store already holds with
// one listing, stores only new ones (each one zstd frame in one age file),
// reads them back in order, and owns the markers and the sweep by which
// prune deletes chunks no set needs while backups run.
package chunk

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/restic/chunker"
)

// Chunk size bounds (see docs/FORMAT.md): restic's (512 KiB – 8 MiB, about
// 1 MiB on average). On the churn benchmark (docs/BENCHMARKS.md) a 2 MiB
// average uploaded ~1.3× what restic did per night, 1 MiB ~1.1×: a SQL dump
// changes in scattered pages, and each change costs a whole chunk.
const (
	MinSize     = 512 << 10
	MaxSize     = 8 << 20
	AverageBits = 20
)

// keySize is the length of the host's chunk key.
const keySize = 32

// Key is the host's secret that names chunks and seeds the chunker. It is
// never needed to restore.
type Key struct {
	mac []byte
	pol chunker.Pol
}

// KeyFile is where a host's chunk key lives under the staging folder.
func KeyFile(staging, host string) string { return filepath.Join(staging, host+".chunkkey") }

const keyHeader = "# lyncbackup chunk key: names and cuts chunks; not needed to restore. Losing it only costs deduplication.\n"

// LoadOrCreateKey reads the key at path, or makes a new one there (mode
// 0600) when the file does not exist.
func LoadOrCreateKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, keySize)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create chunk key folder: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return LoadOrCreateKey(path) // another run made it first
			}
			return nil, fmt.Errorf("create chunk key %s: %w", path, err)
		}
		_, werr := f.WriteString(keyHeader + hex.EncodeToString(raw) + "\n")
		if serr := f.Sync(); werr == nil {
			werr = serr
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, fmt.Errorf("write chunk key %s: %w", path, werr)
		}
		return NewKey(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("read chunk key: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		raw, err := hex.DecodeString(line)
		if err != nil || len(raw) != keySize {
			break
		}
		return NewKey(raw)
	}
	return nil, fmt.Errorf("chunk key %s is damaged (delete it: the next backup makes a new one and only loses deduplication against older chunks)", path)
}

// NewKey derives the chunk naming and cutting from 32 secret bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != keySize {
		return nil, fmt.Errorf("chunk key must be %d bytes", keySize)
	}
	pol, err := chunker.DerivePolynomial(&keyStream{key: raw})
	if err != nil {
		return nil, fmt.Errorf("derive chunker polynomial: %w", err)
	}
	return &Key{mac: bytes.Clone(raw), pol: pol}, nil
}

// keyStream is SHA-256(key ‖ label ‖ counter) blocks: a deterministic
// source for DerivePolynomial.
type keyStream struct {
	key []byte
	n   uint64
	buf []byte
}

func (s *keyStream) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) {
		h := sha256.New()
		h.Write(s.key)
		h.Write([]byte("lyncbackup chunker polynomial"))
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], s.n)
		s.n++
		h.Write(c[:])
		s.buf = h.Sum(s.buf)
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// ID names a chunk: HMAC-SHA-256 of its plaintext under the key, in hex.
func (k *Key) ID(data []byte) string {
	m := hmac.New(sha256.New, k.mac)
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// Chunker returns a content-defined chunker over r with this key's
// polynomial and the format's size bounds.
func (k *Key) Chunker(r io.Reader) *chunker.Chunker {
	c := chunker.NewWithBoundaries(r, k.pol, MinSize, MaxSize)
	c.SetAverageBits(AverageBits)
	return c
}
