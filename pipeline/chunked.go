package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/upload"
)

// chunkAhead is how far a restore of one item fetches ahead of the
// extractor, in chunks of the largest size (chunk.Stream: 16 MiB of chunks,
// at most 8 of them). Measured on a 1 GiB restore from loopback S3
// (2 cores): 2 with chunk's 32 MiB of idle buffers held the CPU-seconds
// of 4 with 20% less peak RSS (~115 MiB against ~150 MiB).
const chunkAhead = 2

// checkAhead is how many chunks a verify without identity checks at once.
const checkAhead = 4

// readChunkedItem restores or verifies an item stored as chunks: its chunk
// list object is checked against the manifest, then every chunk's size and
// SHA-256 (a verify without identity reads each distinct chunk once per
// run), and for a restore or a verify with identity the chunks are fetched
// ahead concurrently, decrypted, decompressed and fed in order to the same
// extractor an archive object goes through.
func readChunkedItem(ctx context.Context, job ReadJob, it catalog.Item, rep ItemReport, storedOnly bool) ItemReport {
	fail := func(err error) ItemReport {
		rep.Error = damagedItem(job, it, err).Error()
		return rep
	}
	// A restore goes on without a lost or damaged list: the manifest's
	// entries are the list (every chunk and file is still checked against
	// them); the set still fails verify, and the warning says why.
	var listWarning string
	if damaged, err := checkChunkList(ctx, job, it); err != nil {
		if job.To == "" || !damaged {
			return fail(err)
		}
		listWarning = err.Error() + ": restored from the manifest's chunk entries instead (every chunk and file still checked); this set fails verify, and a restore with stock tools needs the list: its lines are the entries' keys (docs/FORMAT.md)"
	}
	// A verify with identities that already verified this very entry
	// (another set's) in this run: its chunk list, the set's own object,
	// was checked just now; its chunks are the ones decrypted then.
	var seen string
	if !storedOnly && job.Verified != nil && job.To == "" && job.Include == nil && job.Entry == nil {
		seen = entryKey(it)
		if r, ok := job.Verified.get(seen); ok {
			job.Progress.Stored(it.Name, it.StoredBytes)
			job.Progress.Read(it.Name, r.PlainBytes)
			rep.OK, rep.Files, rep.Folders, rep.Links, rep.PlainBytes, rep.Warnings = true, r.Files, r.Folders, r.Links, r.PlainBytes, r.Warnings
			return rep
		}
	}
	if storedOnly {
		var mu sync.Mutex
		var first error
		sem := make(chan struct{}, checkAhead)
		var wg sync.WaitGroup
		for _, c := range it.Chunks {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := job.Checks.Check(ctx, job.Store, c, nil); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
				job.Progress.Stored(it.Name, c.StoredBytes)
				job.Progress.Read(it.Name, c.StoredBytes)
			}()
		}
		wg.Wait()
		if first != nil {
			return fail(first)
		}
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		rep.OK, rep.PlainBytes, rep.Files = true, it.PlainBytes, it.Files
		return rep
	}
	// A restore checks each chunk's age prefix and lets age authenticate
	// the rest; a verify hashes every chunk object whole (as for archive
	// objects, see openObject).
	open := chunk.Stream
	if job.To == "" {
		open = chunk.StreamWhole
	}
	stream := open(ctx, job.Store, it.Chunks, job.Identities, chunkAhead, func(n int64) { job.Progress.Stored(it.Name, n) })
	defer stream.Close()
	// cause names a failure by where it happened, as for archive objects:
	// a Ctrl-C or a full disk is never a damaged chunk. The chunk stream's
	// own errors name the chunk and what failed (download, size, SHA-256,
	// age, zstd, plain size).
	cause := func(err error) error {
		if c := localCause(ctx, err, func() string { return " (nothing of this item was moved into place)" }, nil); c != nil {
			return c
		}
		if errors.Is(err, crypto.ErrWrongIdentity) && crypto.HoldsRecipient(job.Identities, job.Manifest.Recipients) {
			// The key is one of the set's: the chunk was stored for other
			// recipients, which versions before 2026-11-30 reused after
			// the recipients changed (docs/FORMAT.md, chunk id).
			return fmt.Errorf("read: %w; the identity file holds a key of this set, so the chunk was stored for earlier recipients (a set written before 2026-11-30 after a key change): put the earlier key in the identity file too", err)
		}
		return fmt.Errorf("read: %w", wrongIdentity(job, err))
	}
	st, err := extractItem(ctx, job, it, &rep, stream, cause, func(st archive.ExtractStats) error {
		// The rest of the stream (tar padding) still has to come from
		// checked chunks: read it to the end, so every chunk is fetched
		// and checked.
		if _, err := io.Copy(io.Discard, stream); err != nil {
			return cause(err)
		}
		// The same promises checkItem holds an archive object to.
		return checkContents(it, st.Files, st.Bytes)
	})
	if err != nil {
		return fail(err)
	}
	rep.done(st, job.Include != nil)
	if listWarning != "" {
		rep.Warnings = append(rep.Warnings, listWarning)
	}
	if seen != "" {
		job.Verified.add(seen, rep)
	}
	return rep
}

// VerifiedItems remembers, for one run of verify with identities over
// several sets (verify all), the chunked items it verified whole:
// decrypted, decompressed, every file hashed against the tar stream's own
// index, and the files and bytes held to the entry. Consecutive sets of a
// host name mostly the same chunks, and an unchanged item has the same
// entry in each: a later item whose entry is identical but for its chunk
// list's key (the set's own object, which is still read and checked) has
// the same chunks, hashes, sizes and age prefixes, so decrypting them
// again checks nothing new, and its report is the first one's. An entry
// that differs in anything, one chunk or one hash, is verified whole.
// Safe for concurrent use; the zero value is ready.
type VerifiedItems struct {
	mu   sync.Mutex
	done map[string]ItemReport
}

func (v *VerifiedItems) get(k string) (ItemReport, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r, ok := v.done[k]
	return r, ok
}

func (v *VerifiedItems) add(k string, r ItemReport) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.done == nil {
		v.done = map[string]ItemReport{}
	}
	v.done[k] = r
}

// entryKey is an item entry whole but for its key (the chunk list object
// is per set): name, kind, sizes, hashes, age prefix, compression,
// warnings, metadata and every chunk entry.
func entryKey(it catalog.Item) string {
	it.Key = ""
	b, err := json.Marshal(it)
	if err != nil {
		return "" // not remembered: never happens for a parsed manifest
	}
	sum := sha256.Sum256(b)
	return string(sum[:])
}

// prepareTarget returns the extract options of an item: capped at the
// manifest's plain_bytes (a decompression bomb stops at once) and, for a
// restore, writing into a fresh hidden folder beside the item's place that install moves into
// place only once every check has passed; nothing under --to is followed
// through a link (see archive.Install).
func prepareTarget(job ReadJob, it catalog.Item, rep *ItemReport) (opt archive.ExtractOptions, partial string, err error) {
	opt = archive.ExtractOptions{CapBytes: true, MaxBytes: it.PlainBytes, Progress: func(n int64) { job.Progress.Read(it.Name, n) }}
	if job.Entry != nil {
		opt.Entry = func(e archive.Entry) { job.Entry(it.Name, e) }
	}
	if job.To == "" {
		return opt, "", nil
	}
	if job.Include != nil {
		opt.Include = func(name string) bool { return job.Include(it.Name, name) }
	}
	rep.Path = ItemDir(job.To, it.Name)
	if fi, err := os.Lstat(rep.Path); err == nil {
		if fi.Mode()&os.ModeSymlink != 0 {
			return opt, "", fmt.Errorf("restore into %s: it is a symlink, and a restore never writes through one (remove it, or restore elsewhere)", rep.Path)
		}
		if !fi.IsDir() {
			return opt, "", fmt.Errorf("restore into %s: it is a file, not a folder (move it away first)", rep.Path)
		}
	}
	partial = filepath.Join(job.To, partialPrefix+it.Name)
	// Left by a restore that was killed, or whose clean-up failed.
	if err := archive.RemoveTree(partial); err != nil {
		return opt, "", fmt.Errorf("clear %s (left by an earlier restore): %w", partial, err)
	}
	opt.Dir = partial
	return opt, partial, nil
}

// install moves a checked item from *partial into place (a no-op for a
// verify); parents are the folders made only for entries Include chose
// below them (archive.Install); the caller's cleanup then removes the emptied partial folder.
// When it fails half-way, *partial is cleared so that cleanup keeps the
// files that did not move yet.
func install(partial *string, path string, parents []string) error {
	if *partial == "" {
		return nil
	}
	if err := archive.Install(*partial, path, parents...); err != nil {
		var ie *archive.InstallError
		if errors.As(err, &ie) && ie.Moved {
			err = fmt.Errorf("%w (part of the item is in place; the rest is in %s)", err, *partial)
			*partial = ""
		}
		return err
	}
	return nil
}

// checkChunkList checks the item's .chunks object: its size, its SHA-256,
// and that it lists exactly the manifest's chunk keys (the stock-tools
// restore reads it). The manifest fixes the list whole (its lines are the
// chunk entries' keys), so its size is known before it is read: it is
// read with one request, as a chunk is (upload.ReadWhole: on S3 one GET
// and no HEAD, on Azure one download and no properties request), and a
// list of another size is refused on the size the response announces.
// damaged: the list is gone or is not the one the manifest fixes (not a
// failed download), which a restore goes on without.
func checkChunkList(ctx context.Context, job ReadJob, it catalog.Item) (damaged bool, err error) {
	want := catalog.ChunkList(it.Chunks)
	got := make([]byte, len(want))
	size, err := upload.ReadWhole(ctx, job.Store, it.Key, got)
	if errors.Is(err, upload.ErrNotFound) && ctx.Err() == nil {
		return true, fmt.Errorf("download chunk list: %w", err)
	}
	if err != nil {
		// The store's own words; S3's already name --thaw, Azure's do not.
		if errors.Is(err, upload.ErrArchived) && !upload.NamesThaw(err) {
			return false, fmt.Errorf("download chunk list: %w (run restore with --thaw to start bringing it back)", err)
		}
		return false, fmt.Errorf("download chunk list: %w", err)
	}
	if size != int64(len(want)) {
		n := fmt.Sprint(size)
		if size < 0 {
			n = fmt.Sprintf("more than %d", len(want))
		}
		return true, fmt.Errorf("chunk list %s is %s bytes, the manifest's chunk entries make %d (truncated, extended or swapped)", it.Key, n, len(want))
	}
	sum := sha256.Sum256(got)
	if hex.EncodeToString(sum[:]) != it.SHA256 || !bytes.Equal(got, want) {
		return true, fmt.Errorf("chunk list %s does not match the manifest (corrupted or swapped)", it.Key)
	}
	return false, nil
}
