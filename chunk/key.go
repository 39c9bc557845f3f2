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
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "github.com/PlakarKorp/go-cdc-chunkers/chunkers/fastcdc" // registers "fastcdc-v1.0.0"
	"github.com/zeebo/blake3"

	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/internal/filelock"
	"github.com/lyncbackup/lyncbackup/internal/oserr"
)

// Chunk size bounds (see docs/FORMAT.md): about 1.3 MiB on average. On the
// churn benchmark (docs/BENCHMARKS.md) a 2 MiB average uploaded ~1.3× what
// restic did per night, 1 MiB ~1.1×: a SQL dump changes in scattered pages,
// and each change costs a whole chunk. The minimum is close to NormalSize:
// FastCDC hashes no byte of a chunk's first MinSize, so 960 KiB instead of
// restic's 512 KiB halves the chunker's work (the cutter took ~14% of a
// backup's CPU) for 4% larger chunks on average and the same bytes changed
// per night on the churn model (docs/BENCHMARKS.md, session 8).
const (
	MinSize    = 960 << 10
	MaxSize    = 8 << 20
	NormalSize = 1 << 20
)

// Algorithm is the content-defined chunker (docs/FORMAT.md): keyed FastCDC
// of github.com/PlakarKorp/go-cdc-chunkers (normalization level 2, its Gear
// table derived from a key). It replaced restic's Rabin chunker, which cut
// at ~450 MB/s on one core where FastCDC cuts at ~1 GB/s, with the same
// deduplication on the churn nights; the cut points changed with it, so the
// first backup after that upgrade uploads every chunk once more.
const Algorithm = "fastcdc-v1.0.0"

// keySize is the length of the host's chunk key.
const keySize = 32

// Key is the host's secret that names chunks and keys the chunker. It is
// never needed to restore.
type Key struct {
	mac []byte
	cdc []byte // the chunker's key (derived: see NewKey)
}

// KeyFile is where a host's chunk key lives under the staging folder.
func KeyFile(staging, host string) string { return filepath.Join(staging, host+".chunkkey") }

const keyHeader = crypto.ChunkKeyHeader + ": names and cuts chunks; not needed to restore. Losing it only costs deduplication.\n"

// LoadOrCreateKey reads the key at path, or makes a new one there (mode
// 0600) when the file does not exist or is empty (a run was killed while
// making it: see fillEmptyKey). A file that holds something else is
// damaged: an error that says to delete it. A file that is there but
// cannot be read (no read access, another process holding it, its
// share's server away) is never taken for a missing one: a new key made
// beside or over it would cost the deduplication against every chunk
// named with it (unreadableKey).
func LoadOrCreateKey(path string) (*Key, error) {
	data, err := readKeyFile(path)
	if oserr.Missing(err) {
		if beforeCreate != nil {
			beforeCreate()
		}
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
				return LoadOrCreateKey(path) // another run made it first (and may still be writing it)
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
		return nil, unreadableKey(path, err)
	}
	k, err := parseKey(path, data)
	switch {
	case err == nil:
		return k, nil
	case young(path):
		return awaitKey(path) // another run created it a moment ago and is writing it
	case len(data) == 0:
		return fillEmptyKey(path)
	}
	return nil, err
}

// fillEmptyKey writes a new key into the key file at path, found empty and
// not young: a run killed between creating the file and writing its line
// left it so. No chunk was ever named with it: LoadOrCreateKey hands out
// a new key only once its line is written and synced, and a file whose
// write failed is removed. Making a new key is what the advice for a
// damaged file (delete it) comes to, without the failed nights.
//
// The file is neither removed nor renamed: every run that finds it empty
// locks it (an OS lock, dropped however the process ends), and the first
// writes the key in place while the others wait; they then read that key.
// A run that reads the file meanwhile without the lock finds it young and
// waits for the line (awaitKey). A file that cannot be opened for writing
// or locked fails with the advice to delete it (unfillable).
func fillEmptyKey(path string) (*Key, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if oserr.Missing(err) {
		return LoadOrCreateKey(path) // removed meanwhile (by hand)
	}
	if err != nil {
		return nil, unfillable(path, err)
	}
	defer f.Close()
	if _, err := filelock.LockAt(f, true, keyLockByte); err != nil {
		return nil, unfillable(path, fmt.Errorf("lock: %w", err))
	}
	if emptyKeyLocked != nil {
		emptyKeyLocked()
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read chunk key: %w", err)
	}
	if len(data) > 0 { // the run that held the lock before us wrote it
		return parseKey(path, data)
	}
	raw := make([]byte, keySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	_, werr := f.WriteAt([]byte(keyHeader+hex.EncodeToString(raw)+"\n"), 0)
	if serr := f.Sync(); werr == nil {
		werr = serr
	}
	if werr != nil {
		f.Truncate(0) // empty again, for the next run to fill
		return nil, fmt.Errorf("write chunk key %s: %w", path, werr)
	}
	return NewKey(raw)
}

// unfillable is the error for an empty key file that a new key cannot be
// written into (err: why, such as a file this account may not write): it
// fails every backup until the file is deleted.
func unfillable(path string, err error) error {
	return &BadKeyError{cause: fmt.Sprintf("chunk key %s is empty (a run was stopped while making it) and a new key cannot be written into it: %v", path, err), err: err}
}

// BadKeyError is a key file that fails every backup: damaged, or empty
// and not writable (until it is deleted), or there but unreadable (until
// it can be read: never deleted, it holds the key). Its text is the
// backup's line, the cause with the fix; Cause is the cause alone, for
// lyncbackup check, which gives the fix a line of its own.
type BadKeyError struct {
	cause      string
	err        error // why it cannot be filled or read (nil: damaged)
	unreadable bool  // there, but cannot be read: err says why
}

func (e *BadKeyError) Error() string { return e.cause + " (" + e.advice() + ")" }

// Fix is what to do about the file at path, for lyncbackup check's fix
// line: delete it, unless it is on a file system that takes no writes,
// where deleting fails too and every backup needs to write anyway, or it
// holds a key that cannot be read now (then make it readable: deleting
// it would cost the deduplication).
func (e *BadKeyError) Fix(path string) string {
	switch {
	case e.unreadable:
		return unreadableKeyAdvice(e.err, path)
	case oserr.ReadOnly(e.err):
		return readOnlyKeyAdvice
	}
	return "delete " + path + ": the next backup makes a new one and only loses deduplication against older chunks"
}

func (e *BadKeyError) advice() string {
	switch {
	case e.unreadable:
		return unreadableKeyAdvice(e.err, "that file")
	case oserr.ReadOnly(e.err):
		return readOnlyKeyAdvice
	}
	return deleteKeyAdvice
}

// readKeyFile is os.ReadFile (tests put the errors of a share whose
// server is away in its place: Wine gives none).
var readKeyFile = os.ReadFile

// unreadableKey is the error for a key file that could not be read (err:
// not that it is missing). A file this account may not read, one another
// process holds open (an antivirus scan, a copy in progress) and one on a
// share whose server is away are there and hold the key every chunk was
// named with: each gets its cause and fix, which is never to delete it.
// Any other error is the system's.
func unreadableKey(path string, err error) error {
	var cause string
	switch {
	case oserr.Denied(err):
		cause = "chunk key " + path + " cannot be read: this account has no read access to it"
	case oserr.Held(err):
		cause = "chunk key " + path + " cannot be read: another process holds it open (an antivirus scan, a backup or copy program, an editor)"
	case oserr.NetPathDown(err):
		cause = "chunk key " + path + ": " + oserr.ServerAway
	default:
		return fmt.Errorf("read chunk key: %w", err)
	}
	return &BadKeyError{cause: cause, err: err, unreadable: true}
}

// unreadableKeyAdvice is the fix for a key file that is there but cannot
// be read (err: why), named file in the advice.
func unreadableKeyAdvice(err error, file string) string {
	const keep = "; keep the file: a new key would lose deduplication against older chunks"
	switch {
	case oserr.Held(err):
		return "close the program that holds " + file + " open, or wait until it lets go (exclude the staging folder from on-access scans)" + keep
	case oserr.NetPathDown(err):
		return "bring the staging folder's server back or correct its name; the key is read again by the next backup" + keep
	}
	return "give the account running the backup read access to " + file + keep
}

// readOnlyKeyAdvice is the fix for an empty key file on a file system that
// takes no writes (a staging folder on a read-only mount or medium).
const readOnlyKeyAdvice = "the staging folder's file system takes no writes: make it writable (every backup writes there), and the next backup writes a new key into the file"

func (e *BadKeyError) Unwrap() error { return e.err }

// Cause is the error without its advice.
func (e *BadKeyError) Cause() string { return e.cause }

// deleteKeyAdvice is the fix for a key file that fails every backup.
const deleteKeyAdvice = "delete it: the next backup makes a new one and only loses deduplication against older chunks"

// keyLockByte is where a Windows lock on the key file sits: past the line,
// which other runs read meanwhile (a Windows lock keeps other handles from
// reading the bytes it covers).
const keyLockByte = 1 << 20

// emptyKeyLocked is a test hook: it runs once fillEmptyKey holds the lock.
var emptyKeyLocked func()

// KeyState is what CheckKey found at a key file's path.
type KeyState int

const (
	KeyMissing KeyState = iota // none yet: the first chunked backup makes it
	KeyGood                    // holds a key
	KeyEmpty                   // empty: the next backup writes a new key into it
	KeyBad                     // cannot be read or does not parse: backups fail until it is fixed (err: how)
)

// CheckKey reads the key file at path as a backup does, changing nothing
// (for lyncbackup check). For KeyBad, err is the error the backup fails
// with (an empty file that this account cannot open for writing is
// KeyBad: the backup cannot fill it); for KeyEmpty it says why the file
// is empty.
func CheckKey(path string) (KeyState, error) {
	data, err := readKeyFile(path)
	if oserr.Missing(err) {
		return KeyMissing, nil
	}
	if err != nil {
		return KeyBad, unreadableKey(path, err)
	}
	if _, err := parseKey(path, data); err != nil {
		if len(data) == 0 {
			// The backup opens it for writing to fill it (fillEmptyKey).
			f, oerr := os.OpenFile(path, os.O_RDWR, 0)
			if oerr != nil && !oserr.Missing(oerr) {
				return KeyBad, unfillable(path, oerr)
			}
			if f != nil {
				f.Close()
			}
			return KeyEmpty, err
		}
		return KeyBad, err
	}
	return KeyGood, nil
}

// young reports a key file modified less than keyWriteWait ago (or dated
// ahead): one that does not parse may still be being written.
func young(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && time.Since(fi.ModTime()) < keyWriteWait
}

// Test hooks: beforeCreate runs between finding no key file and creating
// one (another run creates it in that moment), keyUnreadable when awaitKey
// found the file not written yet (that run finishes its write).
var beforeCreate, keyUnreadable func()

// keyWriteWait is how long a run that lost the race to create the key file
// waits for the winner to finish writing it.
var keyWriteWait = 5 * time.Second

// awaitKey reads the key file another run has just created. That run may
// not have written it yet: an empty or partial file is read again until it
// parses or keyWriteWait has passed, instead of being called damaged (and
// the good key deleted on that advice). A file the other run removed
// again (its write failed) is made anew; one still empty then was left by
// a run that died, and gets a new key (fillEmptyKey). A file that does not
// parse and is older than that is damaged at once (an empty one filled).
func awaitKey(path string) (*Key, error) {
	deadline := time.Now().Add(keyWriteWait)
	for {
		data, err := readKeyFile(path)
		if oserr.Missing(err) {
			return LoadOrCreateKey(path)
		}
		if err != nil {
			return nil, unreadableKey(path, err)
		}
		k, err := parseKey(path, data)
		if err == nil {
			return k, nil
		}
		if time.Now().After(deadline) {
			// Still empty: its writer died. Filled whatever the file's
			// date: one dated ahead (the clock set back since) stays
			// young for as long as it is ahead, and failed every backup
			// until then. fillEmptyKey fills it under the file's lock
			// and reads what another run wrote first.
			if len(data) == 0 {
				return fillEmptyKey(path)
			}
			return nil, err
		}
		if keyUnreadable != nil {
			keyUnreadable()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func parseKey(path string, data []byte) (*Key, error) {
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
	if len(data) == 0 {
		return nil, fmt.Errorf("chunk key %s is empty (a run was stopped while making it)", path)
	}
	return nil, &BadKeyError{cause: fmt.Sprintf("chunk key %s is damaged", path)}
}

// NewKey derives the chunk naming and cutting from 32 secret bytes: ids
// are keyed by the bytes themselves, the chunker by
// HMAC-SHA-256(key, cdcLabel), so that its Gear table (which the library
// derives with keyed BLAKE3) is independent of the id key.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != keySize {
		return nil, fmt.Errorf("chunk key must be %d bytes", keySize)
	}
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(cdcLabel))
	return &Key{mac: bytes.Clone(raw), cdc: m.Sum(nil)}, nil
}

const cdcLabel = "lyncbackup fastcdc gear table"

// ID names a chunk: the keyed BLAKE3 hash (256 bits) of its plaintext
// under the key, in hex. (Keyed BLAKE3 is a PRF like HMAC-SHA-256 and
// hashes a 1 MiB chunk 2-3 times faster on the machines measured.)
func (k *Key) ID(data []byte) string {
	h, err := blake3.NewKeyed(k.mac)
	if err != nil {
		panic(err) // the key is always 32 bytes (NewKey)
	}
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// ForRecipients is the key that names the chunks of a backup encrypted to
// recipients (their public keys in canonical text, in any order): ids are
// keyed by keyed BLAKE3 of the host key over a label and the sorted
// recipients, so the same plaintext stored for other recipients has
// another id. A chunk object is encrypted once, to the recipients of the
// backup that stored it; without this, a backup after the recipients
// changed (a key replaced, one removed) reused every chunk stored before
// and committed sets that the new key could not restore. The cut points
// do not change (the chunker keeps its key).
func (k *Key) ForRecipients(recipients []string) *Key {
	rs := slices.Clone(recipients)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	h, err := blake3.NewKeyed(k.mac)
	if err != nil {
		panic(err) // the key is always 32 bytes (NewKey)
	}
	h.Write([]byte(recipientsLabel))
	for _, r := range rs {
		fmt.Fprintf(h, "%d:%s\n", len(r), r)
	}
	return &Key{mac: h.Sum(nil)[:keySize], cdc: k.cdc}
}

const recipientsLabel = "lyncbackup chunk ids for recipients\n"
