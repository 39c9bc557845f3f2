// Package catalog knows how backup sets are laid out in a store: set ids,
// the manifest format (parsed defensively), listing the sets of every host,
// and the commit rule: a set exists only once its manifest is written, last.
package catalog

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// FormatVersion is the newest manifest format this build writes and reads:
// 1 when every item is one archive object, 3 when a set has chunked items
// (2: chunked items whose chunks carry no age prefix hash, written before
// 2026-11-29; still read). See docs/FORMAT.md. A set is written with the
// lowest format that describes it, so sets without chunks stay readable
// by older builds.
const FormatVersion = 3

// FormatChunkedNoPrefix is the first chunked format: its chunks have no
// age prefix hash, so a restore hashes each whole chunk object.
const FormatChunkedNoPrefix = 2

// FormatArchive is the format of a set whose items are all archive objects.
const FormatArchive = 1

// MaxManifestSize bounds what ParseManifest accepts and Commit writes. A
// chunked item lists one entry (~330 bytes) per chunk (~1.3 MB of its tar
// stream on average), so 256 MiB holds about 800,000 chunks, ~1 TB of
// items in one set. (Up to 64 MiB until 2026-11-30, and not checked by the
// writer: a set past it was committed and could not be read.)
const MaxManifestSize = 256 << 20

// manifestLimit is MaxManifestSize (tests lower it).
var manifestLimit = MaxManifestSize

// ManifestName is the object that commits a set.
const ManifestName = "manifest.json"

// ObjectSuffix ends every item object's key.
const ObjectSuffix = ".tar.zst.age"

// ChunksSuffix ends the key of a chunked item's chunk list.
const ChunksSuffix = ".chunks"

// LayoutChunked marks an item stored as content-defined chunks.
const LayoutChunked = "chunked"

// ChunkSuffix ends every chunk object's key.
const ChunkSuffix = ".zst.age"

// MaxChunkBytes bounds a chunk's plain and stored size in a manifest (the
// chunker cuts at 8 MiB; zstd and age add little), so a reader can hold
// one chunk in memory.
const MaxChunkBytes = 16 << 20

// Status values of a committed set.
const (
	StatusComplete = "complete"
	StatusPartial  = "partial"
)

// Manifest describes one committed backup set. It is stored in clear text
// (so that list and verify work without the identity) and holds no secret:
// only public keys, names, sizes and hashes.
type Manifest struct {
	Format      int       `json:"format"`
	Tool        string    `json:"tool"`
	Host        string    `json:"host"`
	SetID       string    `json:"set_id"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Status      string    `json:"status"`
	Compression string    `json:"compression"`
	Recipients  []string  `json:"recipients"`
	Items       []Item    `json:"items"`
	Failures    []Failure `json:"failures,omitempty"`
	// Discovery is what the exporters found (product, pools, file stores),
	// kept for the restore plan.
	Discovery Discovery `json:"discovery,omitempty"`
	// Lock is the retention asked for at upload, if any.
	Lock *Lock `json:"lock,omitempty"`
}

// Discovery is the free-form discovery record of a manifest.
type Discovery map[string]any

// maxDiscovery bounds a manifest's discovery record (a large deployment's
// is tens of KB). It is any JSON, and JSON of empty lists ("[],[],…")
// takes about 40 times its size in memory: without a bound a crafted
// 24 MiB manifest, which every listing reads, allocated over 1 GiB.
const maxDiscovery = 1 << 20

// UnmarshalJSON decodes a discovery record of at most maxDiscovery bytes.
func (d *Discovery) UnmarshalJSON(b []byte) error {
	if len(b) > maxDiscovery {
		return fmt.Errorf("discovery record of %d bytes (at most %d)", len(b), maxDiscovery)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*d = m
	return nil
}

// Item is one stored object.
type Item struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Key         string `json:"key"` // relative to the store root
	PlainBytes  int64  `json:"plain_bytes"`
	StoredBytes int64  `json:"stored_bytes"`
	Files       int64  `json:"files"`
	SHA256      string `json:"sha256"` // of the stored (encrypted) object
	// AgePrefixSHA256 is the SHA-256 of the object's first AgePrefixBytes
	// bytes: its age header and payload nonce. A restore checks these, and
	// age authenticates every chunk after them (see pipeline.openObject).
	AgePrefixSHA256 string `json:"age_prefix_sha256,omitempty"`
	AgePrefixBytes  int64  `json:"age_prefix_bytes,omitempty"`
	// Compression is the zstd level the item was packed at (the set's
	// level, or for "auto" the one chosen for this item).
	Compression string            `json:"compression,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	// Layout is empty for one archive object per item, LayoutChunked for
	// an item whose tar stream is the concatenation of Chunks.
	Layout string  `json:"layout,omitempty"`
	Chunks []Chunk `json:"chunks,omitempty"`
}

// Chunked reports whether the item is stored as chunks.
func (it Item) Chunked() bool { return it.Layout == LayoutChunked }

// Chunk is one chunk of a chunked item, in stream order.
type Chunk struct {
	Key         string `json:"key"`
	PlainBytes  int64  `json:"plain_bytes"`
	StoredBytes int64  `json:"stored_bytes"`
	SHA256      string `json:"sha256"` // of the stored (encrypted) object
	// AgePrefixSHA256 is the SHA-256 of the chunk object's first
	// AgePrefixBytes bytes: its age header and payload nonce (format 3).
	// With an identity, a restore checks these and lets age authenticate
	// the payload instead of hashing the whole object (as for items).
	AgePrefixSHA256 string `json:"age_prefix_sha256,omitempty"`
	AgePrefixBytes  int64  `json:"age_prefix_bytes,omitempty"`
}

// Failure records an exporter that did not produce its items.
type Failure struct {
	Exporter string `json:"exporter"`
	Kind     string `json:"kind"`
	Error    string `json:"error"`
}

// Lock records object lock / immutability applied at upload.
type Lock struct {
	Mode        string    `json:"mode"`
	RetainUntil time.Time `json:"retain_until"`
	LegalHold   bool      `json:"legal_hold,omitempty"`
}

var (
	setIDRe = regexp.MustCompile(`^(\d{8}T\d{6}Z)-([0-9a-f]{6})$`)
	nameRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
)

const setIDTime = "20060102T150405Z"

// NewSetID returns an id that sorts by time (UTC, to the second) and is
// unique (random suffix).
func NewSetID(t time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return t.UTC().Format(setIDTime) + "-" + hex.EncodeToString(b[:])
}

// ParseSetID checks id and returns its time.
func ParseSetID(id string) (time.Time, error) {
	m := setIDRe.FindStringSubmatch(id)
	if m == nil {
		return time.Time{}, fmt.Errorf("invalid set id %q", id)
	}
	return time.Parse(setIDTime, m[1])
}

// ValidName reports whether s may be a host or item name.
func ValidName(s string) bool { return nameRe.MatchString(s) && !strings.Contains(s, "..") }

// SetPrefix is the folder of one set.
func SetPrefix(host, id string) string { return host + "/" + id + "/" }

// ItemKey is the object key of one item.
func ItemKey(host, id, item string) string { return SetPrefix(host, id) + item + ObjectSuffix }

// ChunksKey is the key of a chunked item's chunk list.
func ChunksKey(host, id, item string) string { return SetPrefix(host, id) + item + ChunksSuffix }

// ChunkPrefix is the folder holding a host's chunks.
func ChunkPrefix(host string) string { return host + "/chunks/" }

// ChunkKey is the object key of the chunk with the given id (64 hex digits).
func ChunkKey(host, id string) string { return ChunkPrefix(host) + id[:2] + "/" + id + ChunkSuffix }

// ParseChunkKey checks that key is a chunk key of host and returns its id:
// HOST/chunks/ID[:2]/ID.zst.age, ID 64 lowercase hex digits, HOST a valid
// name (written out rather than a regular expression: a manifest checks one
// key per chunk, and the expression took a third of a listing's CPU).
func ParseChunkKey(host, key string) (string, bool) {
	const tail = len("/chunks/ab/") + 64 + len(ChunkSuffix)
	if len(key) != len(host)+tail || key[:len(host)] != host || !nameRe.MatchString(host) {
		return "", false
	}
	rest := key[len(host):]
	id := rest[len("/chunks/ab/") : len("/chunks/ab/")+64]
	if rest[:len("/chunks/")] != "/chunks/" || rest[len("/chunks/ab")] != '/' || rest[len("/chunks/"):len("/chunks/ab")] != id[:2] ||
		rest[len(rest)-len(ChunkSuffix):] != ChunkSuffix || !IsHex64(id) {
		return "", false
	}
	return id, true
}

// IsHex64 reports exactly 64 lowercase hex digits (a SHA-256 or chunk id as
// the manifest writes them).
func IsHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ManifestKey is the key whose presence commits the set.
func ManifestKey(host, id string) string { return SetPrefix(host, id) + ManifestName }

// Marshal renders the manifest as compact JSON (indenting took a fifth of
// a chunked manifest: ~90 of ~420 bytes per chunk entry).
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// checkDensity refuses, before decoding, a document packed with far more
// objects or strings than a manifest lyncbackup writes can hold: decoding
// "items": [{},{},…] built a ~200-byte Item for every 3 bytes (355 times
// the document: one planted 24 MiB manifest took list to 5 GB). The
// smallest object a manifest holds (a failure) is over 40 bytes, a chunk
// entry ~330, and its strings average well over 4 bytes with their
// quotes; the bounds leave room for both, and keep what a document can
// decode to within a few times its size.
func checkDensity(data []byte) error {
	if n := bytes.Count(data, []byte("{")); n > len(data)/32+16 {
		return fmt.Errorf("manifest: %d objects in %d bytes, more than a manifest holds: not one lyncbackup wrote", n, len(data))
	}
	if n := bytes.Count(data, []byte(`"`)); n > len(data)/4+64 {
		return fmt.Errorf("manifest: %d quotes in %d bytes, more than a manifest holds: not one lyncbackup wrote", n, len(data))
	}
	return nil
}

// ParseManifest reads a manifest defensively: size limit, strict JSON,
// version check and validation of every field that becomes a key or path.
func ParseManifest(r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(manifestLimit)+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if len(data) > manifestLimit {
		return nil, fmt.Errorf("manifest larger than %d bytes", manifestLimit)
	}
	if err := checkDensity(data); err != nil {
		return nil, err
	}
	// The strict decode first: it is the one pass over a good manifest
	// (a chunked one runs to megabytes). Only when it fails is the format
	// probed, so that a newer manifest is named as such rather than by
	// the first field this version does not know.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	strictErr := dec.Decode(&m)
	if strictErr == nil && dec.More() {
		strictErr = errors.New("trailing data")
	}
	if strictErr == nil && m.Format > 0 && m.Format <= FormatVersion {
		if err := m.Validate(); err != nil {
			return nil, err
		}
		return &m, nil
	}
	var probe struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %v", err)
	}
	if probe.Format > FormatVersion {
		return nil, fmt.Errorf("manifest format %d is newer than this lyncbackup understands (%d): upgrade lyncbackup", probe.Format, FormatVersion)
	}
	if probe.Format < 1 {
		return nil, errors.New("manifest has no format version")
	}
	// A format in range with no strict error returned above.
	return nil, fmt.Errorf("manifest: %v", strictErr)
}

// Validate checks every field another part of the tool will trust.
func (m *Manifest) Validate() error {
	if m.Format != FormatArchive && m.Format != FormatChunkedNoPrefix && m.Format != FormatVersion {
		return fmt.Errorf("manifest: format %d, want %d, %d or %d", m.Format, FormatArchive, FormatChunkedNoPrefix, FormatVersion)
	}
	if !ValidName(m.Host) {
		return fmt.Errorf("manifest: invalid host %q", m.Host)
	}
	if _, err := ParseSetID(m.SetID); err != nil {
		return fmt.Errorf("manifest: %v", err)
	}
	if m.Status != StatusComplete && m.Status != StatusPartial {
		return fmt.Errorf("manifest: invalid status %q", m.Status)
	}
	if m.End.Before(m.Start) {
		return errors.New("manifest: ends before it starts")
	}
	// A backup never commits a set without items (it fails instead), so a
	// manifest with none is damaged: trusting it would make an empty set
	// the newest good one, restore nothing and let prune thin out the sets
	// that do hold data.
	if len(m.Items) == 0 {
		return errors.New("manifest: no items (a committed set always holds at least one)")
	}
	seen := map[string]bool{}
	for i, it := range m.Items {
		if !ValidName(it.Name) {
			return fmt.Errorf("manifest: item %d: invalid name %q", i, it.Name)
		}
		if seen[it.Name] {
			return fmt.Errorf("manifest: item %q appears twice", it.Name)
		}
		seen[it.Name] = true
		switch it.Layout {
		case "":
			if it.Key != ItemKey(m.Host, m.SetID, it.Name) {
				return fmt.Errorf("manifest: item %q: key %q is outside its set", it.Name, it.Key)
			}
			if len(it.Chunks) > 0 {
				return fmt.Errorf("manifest: item %q: chunks listed for an archive item", it.Name)
			}
		case LayoutChunked:
			if m.Format < 2 {
				return fmt.Errorf("manifest: item %q: chunked item in a format %d manifest", it.Name, m.Format)
			}
			if it.Key != ChunksKey(m.Host, m.SetID, it.Name) {
				return fmt.Errorf("manifest: item %q: key %q is outside its set", it.Name, it.Key)
			}
			if it.AgePrefixBytes != 0 || it.AgePrefixSHA256 != "" {
				return fmt.Errorf("manifest: item %q: age prefix on a chunked item", it.Name)
			}
			if len(it.Chunks) == 0 {
				return fmt.Errorf("manifest: item %q: chunked item without chunks", it.Name)
			}
			var stored int64
			for j, c := range it.Chunks {
				if _, ok := ParseChunkKey(m.Host, c.Key); !ok {
					return fmt.Errorf("manifest: item %q: chunk %d: invalid key %q", it.Name, j, c.Key)
				}
				if !IsHex64(c.SHA256) {
					return fmt.Errorf("manifest: item %q: chunk %d: invalid sha256", it.Name, j)
				}
				if c.PlainBytes <= 0 || c.StoredBytes <= 0 || c.PlainBytes > MaxChunkBytes || c.StoredBytes > MaxChunkBytes {
					return fmt.Errorf("manifest: item %q: chunk %d: invalid size", it.Name, j)
				}
				if c.AgePrefixSHA256 != "" || c.AgePrefixBytes != 0 {
					if m.Format < FormatVersion {
						return fmt.Errorf("manifest: item %q: chunk %d: age prefix in a format %d manifest", it.Name, j, m.Format)
					}
					if !IsHex64(c.AgePrefixSHA256) || c.AgePrefixBytes <= 0 || c.AgePrefixBytes > c.StoredBytes {
						return fmt.Errorf("manifest: item %q: chunk %d: invalid age prefix", it.Name, j)
					}
				}
				stored += c.StoredBytes
			}
			if stored != it.StoredBytes {
				return fmt.Errorf("manifest: item %q: stored bytes %d are not the sum of its chunks (%d)", it.Name, it.StoredBytes, stored)
			}
		default:
			return fmt.Errorf("manifest: item %q: unknown layout %q", it.Name, it.Layout)
		}
		if !IsHex64(it.SHA256) {
			return fmt.Errorf("manifest: item %q: invalid sha256", it.Name)
		}
		if it.PlainBytes < 0 || it.StoredBytes < 0 || it.Files < 0 {
			return fmt.Errorf("manifest: item %q: negative size", it.Name)
		}
		if it.AgePrefixSHA256 != "" || it.AgePrefixBytes != 0 {
			if !IsHex64(it.AgePrefixSHA256) || it.AgePrefixBytes <= 0 || it.AgePrefixBytes > it.StoredBytes {
				return fmt.Errorf("manifest: item %q: invalid age prefix", it.Name)
			}
		}
	}
	if m.Status == StatusComplete && len(m.Failures) > 0 {
		return errors.New("manifest: complete set with failures")
	}
	return nil
}

// Item returns the named item.
func (m *Manifest) Item(name string) (Item, bool) {
	for _, it := range m.Items {
		if it.Name == name {
			return it, true
		}
	}
	return Item{}, false
}

// chunkCount is the number of chunk entries of the set's items.
func (m *Manifest) chunkCount() int {
	n := 0
	for _, it := range m.Items {
		n += len(it.Chunks)
	}
	return n
}

// Totals sums the items.
func (m *Manifest) Totals() (plain, stored, files int64) {
	for _, it := range m.Items {
		plain += it.PlainBytes
		stored += it.StoredBytes
		files += it.Files
	}
	return
}

// ChunkList renders the chunk list object of a chunked item: its chunk
// keys in order, one per line.
func ChunkList(chunks []Chunk) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		b.WriteString(c.Key)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// HasChunks reports whether any item of m is chunked.
func (m *Manifest) HasChunks() bool {
	for _, it := range m.Items {
		if it.Chunked() {
			return true
		}
	}
	return false
}
