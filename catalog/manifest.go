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

// FormatVersion is the manifest format this build writes and reads.
const FormatVersion = 1

// MaxManifestSize bounds what ParseManifest accepts.
const MaxManifestSize = 16 << 20

// ManifestName is the object that commits a set.
const ManifestName = "manifest.json"

// ObjectSuffix ends every item object's key.
const ObjectSuffix = ".tar.zst.age"

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
	Discovery map[string]any `json:"discovery,omitempty"`
	// Lock is the retention asked for at upload, if any.
	Lock *Lock `json:"lock,omitempty"`
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
	// age authenticates every chunk after them (see pipeline.readItem).
	AgePrefixSHA256 string `json:"age_prefix_sha256,omitempty"`
	AgePrefixBytes  int64  `json:"age_prefix_bytes,omitempty"`
	// Compression is the zstd level the item was packed at (the set's
	// level, or for "auto" the one chosen for this item).
	Compression string            `json:"compression,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
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
	hexRe   = regexp.MustCompile(`^[0-9a-f]{64}$`)
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

// ManifestKey is the key whose presence commits the set.
func ManifestKey(host, id string) string { return SetPrefix(host, id) + ManifestName }

// Marshal renders the manifest as indented JSON.
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return json.MarshalIndent(m, "", "  ")
}

// ParseManifest reads a manifest defensively: size limit, strict JSON,
// version check and validation of every field that becomes a key or path.
func ParseManifest(r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if len(data) > MaxManifestSize {
		return nil, errors.New("manifest larger than 16 MiB")
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
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %v", err)
	}
	if dec.More() {
		return nil, errors.New("manifest: trailing data")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks every field another part of the tool will trust.
func (m *Manifest) Validate() error {
	if m.Format != FormatVersion {
		return fmt.Errorf("manifest: format %d, want %d", m.Format, FormatVersion)
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
		if it.Key != ItemKey(m.Host, m.SetID, it.Name) {
			return fmt.Errorf("manifest: item %q: key %q is outside its set", it.Name, it.Key)
		}
		if !hexRe.MatchString(it.SHA256) {
			return fmt.Errorf("manifest: item %q: invalid sha256", it.Name)
		}
		if it.PlainBytes < 0 || it.StoredBytes < 0 || it.Files < 0 {
			return fmt.Errorf("manifest: item %q: negative size", it.Name)
		}
		if it.AgePrefixSHA256 != "" || it.AgePrefixBytes != 0 {
			if !hexRe.MatchString(it.AgePrefixSHA256) || it.AgePrefixBytes <= 0 || it.AgePrefixBytes > it.StoredBytes {
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

// Totals sums the items.
func (m *Manifest) Totals() (plain, stored, files int64) {
	for _, it := range m.Items {
		plain += it.PlainBytes
		stored += it.StoredBytes
		files += it.Files
	}
	return
}
