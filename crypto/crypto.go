// Package crypto is lyncbackup's one door to age: it parses recipients
// (age X25519 and ssh-ed25519 / ssh-rsa public keys) and identities,
// generates identities, and wraps writers and readers in age encryption.
package crypto

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"github.com/lyncbackup/lyncbackup/internal/clip"
	"github.com/lyncbackup/lyncbackup/internal/wintext"
	"golang.org/x/crypto/ssh"
)

// Recipient is a parsed public key together with its text form.
type Recipient struct {
	Text string
	age.Recipient
}

// ParseRecipient parses one public key: "age1…", "ssh-ed25519 …" or "ssh-rsa …".
func ParseRecipient(s string) (Recipient, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(strings.ToUpper(s), "AGE-SECRET-KEY-") {
		// Never echo any part of a secret key, wherever it sits in the string.
		return Recipient{}, errors.New("recipient is an age identity (secret key), not a public key: put the age1… public key in the config")
	}
	short := clip.String(s, 24)
	switch {
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return Recipient{}, fmt.Errorf("recipient %q is not a valid age public key: %v", short, err)
		}
		return Recipient{Text: s, Recipient: r}, nil
	case strings.HasPrefix(s, "ssh-"):
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			return Recipient{}, fmt.Errorf("recipient %q is not a valid ssh public key: %v", short, err)
		}
		// Keep only "type base64": the comment may carry a user name.
		f := strings.Fields(s)
		return Recipient{Text: f[0] + " " + f[1], Recipient: r}, nil
	}
	return Recipient{}, fmt.Errorf("recipient %q is not a key (expected age1…, ssh-ed25519 or ssh-rsa)", short)
}

// Canonical is each recipient's public key in one spelling: an age key as
// age writes it, an ssh key as "type base64" (no comment).
func Canonical(rs []Recipient) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Text
		if x, ok := r.Recipient.(*age.X25519Recipient); ok {
			out[i] = x.String()
		}
	}
	return out
}

// ParseRecipients parses a list of keys plus the lines of a recipients file
// (blank lines and # comments ignored). At least one recipient is required.
func ParseRecipients(keys []string, file string) ([]Recipient, error) {
	var out []Recipient
	for _, k := range keys {
		r, err := ParseRecipient(k)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if file != "" {
		data, err := readKeyFile(file, "recipients file", "not a recipients file (one age1… or ssh public key a line)")
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(textOf(data)), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			r, err := ParseRecipient(line)
			if err != nil {
				return nil, fmt.Errorf("recipients file %s line %d: %v", file, i+1, err)
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no recipients: add an age or ssh public key to encryption.recipients")
	}
	return out, nil
}

// Passphrase gives the passphrase of a protected identity file, or says
// why there is none (nil: the file cannot be opened).
type Passphrase func(path string) (string, error)

// maxIdentityFile bounds what a passphrase-protected identity file may
// decrypt to: an identity file is a few lines.
const maxIdentityFile = 1 << 20

// LoadIdentities reads an identity file: age identities (AGE-SECRET-KEY-1…,
// as written by keygen or age-keygen) or an OpenSSH private key, each also
// protected by a passphrase as `age -d -i` takes them: an identity file
// encrypted with `age -p` (binary or armored), and a passphrase-protected
// ssh key. pass is asked only for those, once, before anything is read.
func LoadIdentities(path string, pass Passphrase) ([]age.Identity, error) {
	data, err := readKeyFile(path, "identity file", "not an identity file (an age identity file holds a secret key line, as keygen writes it)")
	if err != nil {
		return nil, err
	}
	data = textOf(data)
	if bytes.HasPrefix(data, []byte("age-encryption.org/")) || bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armor.Header)) {
		plain, err := decryptIdentityFile(path, data, pass)
		if err != nil {
			return nil, err
		}
		data = plain
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return sshIdentity(path, data, pass)
	}
	// Blanks around a key, as a paste from a password manager leaves them.
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	ids, err := age.ParseIdentities(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		if strings.HasPrefix(string(data), "PuTTY-User-Key-File-") {
			return nil, fmt.Errorf("identity file %s is a PuTTY key: export it as an OpenSSH key (PuTTYgen: Conversions → Export OpenSSH key) and give that file", path)
		}
		if strings.HasPrefix(string(data), ChunkKeyHeader) {
			return nil, fmt.Errorf("identity file %s is the host's chunk key, which names chunks and decrypts nothing: give the age identity file (the secret key keygen wrote) the backups were encrypted to", path)
		}
		if holdsPublicKey(lines) {
			return nil, fmt.Errorf("identity file %s holds a public key, not the secret one: give the file keygen wrote (the secret key) or the private ssh key", path)
		}
		return nil, fmt.Errorf("identity file %s: not an age identity file (%v)", path, firstLine(err.Error()))
	}
	return ids, nil
}

// ChunkKeyHeader starts the chunk key file (chunk.KeyFile) that a backup
// keeps in its staging folder: named here so that the file given as an
// identity by mistake is recognised.
const ChunkKeyHeader = "# lyncbackup chunk key"

// holdsPublicKey reports lines (trimmed) among which a recipient stands:
// the public key given where the identity belongs (keygen prints it, ssh
// keeps it beside the private key as .pub).
func holdsPublicKey(lines []string) bool {
	for _, l := range lines {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if _, err := ParseRecipient(l); err == nil {
			return true
		}
	}
	return false
}

// maxKeyFileRead bounds what is read of an identity or recipients file. An
// age key is one line, an ssh key a few KiB, and an identity file encrypted
// with age -p holds at most maxIdentityFile (armored, under 1.4 MiB). A
// larger file was named by mistake (a backup object, a dump); reading a
// 3 GiB one whole as an identity took 35 s and 6 GB of memory before
// failing with "bufio.Scanner: token too long".
const maxKeyFileRead = 2 * maxIdentityFile

// readKeyFile reads a key file of the kind what, refusing one larger than
// maxKeyFileRead after reading that much with "is larger than 2 MiB: " and
// why.
func readKeyFile(path, what, why string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileRead+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if len(data) > maxKeyFileRead {
		return nil, fmt.Errorf("%s %s is larger than 2 MiB: %s", what, path, why)
	}
	return data, nil
}

// textOf undoes what Windows editors do to a key file pasted into them: a
// UTF-8 byte-order mark (Notepad) and UTF-16 (Notepad's "Unicode"). A
// binary age file is left as it is.
func textOf(data []byte) []byte {
	if bytes.HasPrefix(data, []byte("age-encryption.org/")) {
		return data
	}
	return wintext.Decode(data)
}

// decryptIdentityFile opens an identity file encrypted with a passphrase.
func decryptIdentityFile(path string, data []byte, pass Passphrase) ([]byte, error) {
	var src io.Reader = bytes.NewReader(data)
	if !bytes.HasPrefix(data, []byte("age-encryption.org/")) {
		src = armor.NewReader(src)
	}
	// Its header names how it was encrypted: ask for a passphrase only if
	// one opens it.
	br := bufio.NewReader(src)
	head, _ := br.Peek(64 << 10)
	if end := bytes.Index(head, []byte("\n---")); end >= 0 && !bytes.Contains(head[:end], []byte("\n-> scrypt ")) {
		return nil, fmt.Errorf("identity file %s is encrypted to a key, not with a passphrase: decrypt it first (age -d)", path)
	}
	src = br
	p, err := askPassphrase(path, pass)
	if err != nil {
		return nil, err
	}
	id, err := age.NewScryptIdentity(p)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %v", path, err)
	}
	r, err := age.Decrypt(src, id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		switch {
		case errors.As(err, &nm) && slices.Contains(nm.StanzaTypes, "scrypt"):
			// A passphrase stanza that the passphrase did not open (age
			// words it "incorrect passphrase"; its type says the same).
			return nil, fmt.Errorf("identity file %s: wrong passphrase", path)
		case errors.As(err, &nm):
			return nil, fmt.Errorf("identity file %s is encrypted to a key, not with a passphrase: decrypt it first (age -d)", path)
		}
		return nil, fmt.Errorf("identity file %s: %v", path, firstLine(err.Error()))
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxIdentityFile+1))
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %v", path, err)
	}
	if len(plain) > maxIdentityFile {
		return nil, fmt.Errorf("identity file %s decrypts to more than 1 MiB: not an identity file", path)
	}
	return plain, nil
}

// sshIdentity parses an OpenSSH private key, asking for its passphrase if
// it has one. The key is decrypted here, once: age's own encrypted ssh
// identity would ask again for every file, from every goroutine.
func sshIdentity(path string, data []byte, pass Passphrase) ([]age.Identity, error) {
	id, err := agessh.ParseIdentity(data)
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		if err != nil {
			return nil, fmt.Errorf("identity file %s: %v", path, err)
		}
		return []age.Identity{id}, nil
	}
	p, err := askPassphrase(path, pass)
	if err != nil {
		return nil, err
	}
	raw, err := ssh.ParseRawPrivateKeyWithPassphrase(data, []byte(p))
	if err != nil {
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("identity file %s: wrong passphrase", path)
		}
		return nil, fmt.Errorf("identity file %s: %v", path, err)
	}
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		id, err = agessh.NewEd25519Identity(*k)
	case ed25519.PrivateKey:
		id, err = agessh.NewEd25519Identity(k)
	case *rsa.PrivateKey:
		id, err = agessh.NewRSAIdentity(k)
	default:
		return nil, fmt.Errorf("identity file %s: a %T ssh key, which age does not use (ssh-ed25519 and ssh-rsa only)", path, raw)
	}
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %v", path, err)
	}
	return []age.Identity{id}, nil
}

func askPassphrase(path string, pass Passphrase) (string, error) {
	if pass == nil {
		return "", fmt.Errorf("identity file %s is protected by a passphrase", path)
	}
	p, err := pass(path)
	if err != nil {
		return "", fmt.Errorf("identity file %s is protected by a passphrase: %w", path, err)
	}
	return p, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Writer encrypts what is written to it (see Encrypt).
type Writer struct {
	w      io.WriteCloser
	prefix []byte
}

// Write encrypts p.
func (w *Writer) Write(p []byte) (int, error) { return w.w.Write(p) }

// Close flushes the last chunk; it does not close the destination.
func (w *Writer) Close() error { return w.w.Close() }

// Prefix returns the bytes age wrote ahead of the payload chunks: the
// header (recipient stanzas and MAC) and the payload nonce. They fix the
// file key and the payload key, so a reader holding an identity that
// checks them against a trusted hash, and then gets every chunk
// authenticated by age, has read exactly what was written (see
// PrefixLen). Nil if they did not come whole before Encrypt returned.
func (w *Writer) Prefix() []byte { return w.prefix }

// Encrypt wraps dst: what is written to the result is encrypted to the
// recipients; Close flushes the last chunk (it does not close dst).
func Encrypt(dst io.Writer, rs []Recipient) (*Writer, error) {
	ars := make([]age.Recipient, len(rs))
	for i, r := range rs {
		ars[i] = r.Recipient
	}
	tap := &prefixTap{w: dst, on: true}
	w, err := age.Encrypt(tap, ars...)
	if err != nil {
		return nil, fmt.Errorf("age encrypt: %w", err)
	}
	// age writes the header and the nonce before it returns the stream
	// writer; from here on the tap only passes the chunks through.
	tap.on = false
	prefix := tap.buf
	if PrefixLen(prefix) != len(prefix) {
		prefix = nil
	}
	return &Writer{w: w, prefix: prefix}, nil
}

// prefixTap passes writes through, keeping a copy while on.
type prefixTap struct {
	w   io.Writer
	on  bool
	buf []byte
}

func (t *prefixTap) Write(p []byte) (int, error) {
	if t.on {
		t.buf = append(t.buf, p...)
	}
	return t.w.Write(p)
}

// nonceSize is the size of age's payload nonce, right after the header.
const nonceSize = 16

// PrefixLen returns the length of the age header plus payload nonce at the
// start of b, or -1 if b does not start with a whole one. The header is the
// version line, the stanzas and the "--- MAC" line: stanza lines start
// with "-> " and their bodies are base64, so the first line starting with
// "---" is the MAC line.
func PrefixLen(b []byte) int {
	const intro = "age-encryption.org/v1\n"
	if !bytes.HasPrefix(b, []byte(intro)) {
		return -1
	}
	i := bytes.Index(b, []byte("\n---"))
	if i < 0 {
		return -1
	}
	j := bytes.IndexByte(b[i+1:], '\n')
	if j < 0 {
		return -1
	}
	n := i + 1 + j + 1 + nonceSize
	if n > len(b) {
		return -1
	}
	return n
}

// HoldsRecipient reports whether one of ids is the identity of one of the
// recipients (age X25519 keys; other identities are not compared).
func HoldsRecipient(ids []age.Identity, recipients []string) bool {
	for _, id := range ids {
		x, ok := id.(*age.X25519Identity)
		if !ok {
			continue
		}
		pub := x.Recipient().String()
		for _, r := range recipients {
			if strings.EqualFold(strings.TrimSpace(r), pub) {
				return true
			}
		}
	}
	return false
}

// ErrWrongIdentity is returned when none of the identities opens the file.
var ErrWrongIdentity = errors.New("none of the identities can decrypt it (wrong identity file?)")

// Decrypt wraps src in age decryption. A header no identity matches gives
// ErrWrongIdentity; later authentication failures surface from Read.
func Decrypt(src io.Reader, ids []age.Identity) (io.Reader, error) {
	r, err := age.Decrypt(src, ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, ErrWrongIdentity
		}
		return nil, fmt.Errorf("age header: %v", firstLine(err.Error()))
	}
	return r, nil
}

// identityExists: keygen never overwrites an identity (errors.Is
// os.ErrExist, a usage error).
type identityExists string

func (e identityExists) Error() string {
	return "identity file " + string(e) + " already exists (refusing to overwrite)"
}

func (e identityExists) Is(target error) bool { return target == os.ErrExist }

// ThrowawayIdentity is the public key of the identity file at path, taken
// from the secret key it holds (not from a comment, which may be missing or
// wrong); when there is no file, or it holds nothing that looks like a key
// (no "AGE-" and no age header), a new identity replaces it and created is
// true. A file holding a key it cannot use (another kind of identity, an
// encrypted identity file, a damaged key) is an error, never replaced. It
// is for throwaway keys (the demo's): never give it a key that protects
// backups.
func ThrowawayIdentity(path string) (pub string, created bool, err error) {
	ids, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if err == nil {
		parsed, perr := age.ParseIdentities(bytes.NewReader(ids))
		if perr == nil {
			for _, id := range parsed {
				if x, ok := id.(*age.X25519Identity); ok {
					return x.Recipient().String(), false, nil
				}
			}
		}
		if bytes.Contains(ids, []byte("AGE-")) || bytes.Contains(ids, []byte("age-encryption.org")) {
			return "", false, fmt.Errorf("%s holds a key lyncbackup cannot use as the demo's (not one X25519 identity): it is left as it is; move it away or choose another --dir", path)
		}
	}
	os.Remove(path)
	pub, err = GenerateIdentity(path)
	if err != nil {
		return "", false, err
	}
	return pub, true, nil
}

// GenerateIdentity writes a new X25519 identity to path with mode 0600,
// refusing to overwrite an existing file, and returns the public key.
func GenerateIdentity(path string) (string, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return "", identityExists(path)
		}
		return "", fmt.Errorf("create identity file: %w", err)
	}
	bw := bufio.NewWriter(f)
	fmt.Fprintf(bw, "# created: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(bw, "# public key: %s\n", id.Recipient())
	fmt.Fprintf(bw, "%s\n", id)
	if err := bw.Flush(); err != nil {
		f.Close()
		return "", fmt.Errorf("write identity file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("write identity file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write identity file: %w", err)
	}
	return id.Recipient().String(), nil
}
