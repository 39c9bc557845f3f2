package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
)

// chunkAhead is how many chunks a restore of one item fetches ahead of
// the extractor (each up to chunk.MaxSize stored and again plain).
const chunkAhead = 4

// readChunkedItem restores or verifies an item stored as chunks: its chunk
// list object is checked against the manifest, then every chunk's size and
// SHA-256 (a verify without identity reads each distinct chunk once per
// run), and for a restore or a verify with identity the chunks are fetched
// ahead concurrently, decrypted, decompressed and fed in order to the same
// extractor an archive object goes through.
func readChunkedItem(ctx context.Context, job ReadJob, it catalog.Item, rep ItemReport, storedOnly bool) ItemReport {
	fail := func(err error) ItemReport {
		rep.Error = err.Error()
		return rep
	}
	if err := checkChunkList(ctx, job, it); err != nil {
		return fail(err)
	}
	if storedOnly {
		var mu sync.Mutex
		var first error
		sem := make(chan struct{}, chunkAhead)
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
	stream := chunk.Stream(ctx, job.Store, it.Chunks, job.Identities, chunkAhead, func(n int64) { job.Progress.Stored(it.Name, n) })
	defer stream.Close()
	opt := archive.ExtractOptions{Force: job.Force, Progress: func(n int64) { job.Progress.Read(it.Name, n) }}
	partial := ""
	if job.To != "" {
		rep.Path = ItemDir(job.To, it.Name)
		opt.Dir = rep.Path
		if _, err := os.Lstat(rep.Path); errors.Is(err, os.ErrNotExist) {
			partial = filepath.Join(job.To, partialPrefix+it.Name)
			if err := os.RemoveAll(partial); err != nil {
				return fail(fmt.Errorf("clear %s: %w", partial, err))
			}
			opt.Dir = partial
			defer os.RemoveAll(partial) // a no-op once renamed
		}
	}
	st, err := archive.Extract(ctx, stream, opt)
	if err != nil {
		var ue *archive.UnsafeError
		if errors.As(err, &ue) {
			return fail(err)
		}
		return fail(fmt.Errorf("read: %w", err))
	}
	// The rest of the stream (tar padding) still has to come from checked
	// chunks: read it to the end, so every chunk is fetched and checked.
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return fail(fmt.Errorf("read: %w", err))
	}
	if partial != "" {
		if err := os.Rename(partial, rep.Path); err != nil {
			return fail(fmt.Errorf("move restored files into place: %w", err))
		}
	}
	rep.OK, rep.Files, rep.PlainBytes, rep.Warnings = true, st.Files, st.Bytes, st.Warnings
	return rep
}

// checkChunkList checks the item's .chunks object: its SHA-256, and that it
// lists exactly the manifest's chunk keys (the stock-tools restore reads it).
func checkChunkList(ctx context.Context, job ReadJob, it catalog.Item) error {
	want := catalog.ChunkList(it.Chunks)
	rc, err := job.Store.Get(ctx, it.Key, 0, -1)
	if err != nil {
		return fmt.Errorf("download chunk list: %w", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(io.LimitReader(rc, int64(len(want))+1))
	if err != nil {
		return fmt.Errorf("download chunk list: %w", err)
	}
	sum := sha256.Sum256(got)
	if hex.EncodeToString(sum[:]) != it.SHA256 || !bytes.Equal(got, want) {
		return fmt.Errorf("chunk list %s does not match the manifest (corrupted or swapped)", it.Key)
	}
	return nil
}
