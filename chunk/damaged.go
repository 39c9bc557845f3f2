package chunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
)

// DamagedError is a chunk object whose bytes are not those its manifest
// entry describes: another size, another SHA-256 or age header, or bytes
// age refuses to decrypt. Every set naming the chunk with that entry
// cannot restore the items using it, and a backup must not reuse it: a
// verify, restore or ls that finds one records it (RecordDamaged), and the
// next backup stores the chunk again (docs/FORMAT.md, "Damaged chunks").
type DamagedError struct {
	Key string
	// SHA256 is the SHA-256 the manifest entry recorded for the object.
	SHA256 string
	Msg    string // what did not match, without the key
}

func (e *DamagedError) Error() string { return "chunk " + e.Key + e.Msg }

// Damage is one recorded damaged chunk: its key and the SHA-256 of the
// stored object that the manifest naming it recorded. A record whose
// SHA-256 no longer is the one the host's newest manifest naming the key
// holds is spent (a backup stored the chunk again since) and is ignored.
type Damage struct {
	Key    string
	SHA256 string
}

// DamagedFile is where the verify or restore on the backup host records
// damaged chunks of host, beside its chunk key.
func DamagedFile(staging, host string) string {
	return filepath.Join(staging, host+".damaged-chunks")
}

// DamagedPrefix is the store folder holding the host's damaged-chunk
// records: one empty object per record, DamagedMarkKey.
func DamagedPrefix(host string) string { return host + "/chunk-damaged/" }

// DamagedMarkKey is the store record of d: HOST/chunk-damaged/ID.SHA256,
// an empty object (everything is in its key: one listing reads them all).
func DamagedMarkKey(host string, d Damage) string {
	id, _ := catalog.ParseChunkKey(host, d.Key)
	return DamagedPrefix(host) + id + "." + d.SHA256
}

// parseDamagedMark is DamagedMarkKey read back ("" when key is none).
func parseDamagedMark(host, key string) (Damage, bool) {
	rest, ok := strings.CutPrefix(key, DamagedPrefix(host))
	if !ok {
		return Damage{}, false
	}
	id, sum, ok := strings.Cut(rest, ".")
	if !ok || !catalog.IsHex64(id) || !catalog.IsHex64(sum) {
		return Damage{}, false
	}
	return Damage{Key: catalog.ChunkKey(host, id), SHA256: sum}, true
}

// parseDamagedFile reads a DamagedFile: one record a line, "ID SHA256";
// any other line is skipped.
func parseDamagedFile(host string, data []byte) []Damage {
	var out []Damage
	for line := range strings.SplitSeq(string(data), "\n") {
		id, sum, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && catalog.IsHex64(id) && catalog.IsHex64(sum) {
			out = append(out, Damage{Key: catalog.ChunkKey(host, id), SHA256: sum})
		}
	}
	return out
}

// Recorded says where RecordDamaged kept a record.
type Recorded struct {
	File  string // the staging file written ("" if none)
	Store bool   // the marker object was written
	// Errs are the records that failed (a read-only verify credential):
	// for a warning; they do not fail the verify.
	Errs []error
}

// Any reports whether the next backup will know of the damage.
func (r Recorded) Any() bool { return r.File != "" || r.Store }

// RecordDamaged records d so that the next backup of host stores the
// chunk again: in the staging file (file non-empty: a verify on the
// backup host, with its config), and as a marker object in the store,
// best-effort (a verify elsewhere).
func RecordDamaged(ctx context.Context, st upload.Store, file, host string, d Damage) Recorded {
	var r Recorded
	id, ok := catalog.ParseChunkKey(host, d.Key)
	if !ok || !catalog.IsHex64(d.SHA256) {
		return r
	}
	if file != "" {
		if err := appendDamaged(file, host, id, d); err != nil {
			r.Errs = append(r.Errs, fmt.Errorf("record damaged chunk in %s: %w", file, err))
		} else {
			r.File = file
		}
	}
	if st != nil {
		if _, err := st.Put(ctx, DamagedMarkKey(host, d), bytes.NewReader(nil), upload.PutOptions{Online: true, ContentType: "application/octet-stream"}); err != nil {
			r.Errs = append(r.Errs, fmt.Errorf("record damaged chunk in the store: %w", err))
		} else {
			r.Store = true
		}
	}
	return r
}

func appendDamaged(file, host, id string, d Damage) error {
	data, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if slices.Contains(parseDamagedFile(host, data), d) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", id, d.SHA256); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadDamaged reads the records of host: the staging file (file may be
// "") and the store's markers (one listing).
func LoadDamaged(ctx context.Context, st upload.Store, file, host string) (map[Damage]bool, error) {
	out := map[Damage]bool{}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read damaged-chunk records %s: %w", file, err)
		}
		for _, d := range parseDamagedFile(host, data) {
			out[d] = true
		}
	}
	err := st.List(ctx, DamagedPrefix(host), func(o upload.ObjectInfo) error {
		if d, ok := parseDamagedMark(host, o.Key); ok {
			out[d] = true
		}
		return nil
	})
	if err != nil && !errors.Is(err, upload.ErrNotFound) {
		return nil, fmt.Errorf("list damaged-chunk records of %s: %w", host, err)
	}
	return out, nil
}

// ClearDamaged removes the records done: from the staging file (the
// others are kept) and the store's markers. A record left (a failed
// delete) costs nothing lasting: once a backup stored the chunk again,
// the record no longer matches the newest manifest's entry.
func ClearDamaged(ctx context.Context, st upload.Store, file, host string, done map[Damage]bool) error {
	if len(done) == 0 {
		return nil
	}
	var errs []error
	if file != "" {
		if data, err := os.ReadFile(file); err == nil {
			var keep bytes.Buffer
			for _, d := range parseDamagedFile(host, data) {
				if !done[d] {
					id, _ := catalog.ParseChunkKey(host, d.Key)
					fmt.Fprintf(&keep, "%s %s\n", id, d.SHA256)
				}
			}
			if keep.Len() == 0 {
				err = os.Remove(file)
			} else {
				err = os.WriteFile(file, keep.Bytes(), 0o600)
			}
			if err != nil {
				errs = append(errs, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for d := range done {
		if err := st.Delete(ctx, DamagedMarkKey(host, d)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
