package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

func sshKeys(t *testing.T, dir string) (edPub, rsaPub, edPrivFile string) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	edPub = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " admin@fe01"
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	edPrivFile = filepath.Join(dir, "id_ed25519")
	os.WriteFile(edPrivFile, pem.EncodeToMemory(blk), 0o600)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	rp, _ := ssh.NewPublicKey(&rk.PublicKey)
	rsaPub = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(rp)))
	return
}

func roundTrip(t *testing.T, rs []Recipient, ids []age.Identity) {
	t.Helper()
	var buf bytes.Buffer
	w, err := Encrypt(&buf, rs)
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("secret "), 20000)
	w.Write(msg)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Decrypt(&buf, ids)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
}

func TestGenerateIdentity(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.txt")
	pub, err := GenerateIdentity(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pub, "age1") {
		t.Fatalf("public key %q", pub)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
	before, _ := os.ReadFile(p)
	if !strings.Contains(string(before), "# public key: "+pub) {
		t.Errorf("file lacks the public key comment:\n%s", before)
	}
	if _, err := GenerateIdentity(p); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("overwrite: %v", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Fatal("existing identity changed")
	}
	if _, err := GenerateIdentity(filepath.Join(dir, "missing", "key.txt")); err == nil {
		t.Fatal("missing folder accepted")
	}
	ids, err := LoadIdentities(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecipient(pub)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, []Recipient{r}, ids)
}

func TestRecipientsAndIdentities(t *testing.T) {
	dir := t.TempDir()
	edPub, rsaPub, edPriv := sshKeys(t, dir)
	agePub, err := GenerateIdentity(filepath.Join(dir, "age.txt"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecipient(edPub)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.Text, "admin") || strings.Count(r.Text, " ") != 1 {
		t.Errorf("ssh recipient text keeps the comment: %q", r.Text)
	}
	if _, err := ParseRecipient(rsaPub); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "recipients.txt")
	os.WriteFile(file, []byte("# team keys\n\n"+rsaPub+"\n  "+agePub+"  \r\n"), 0o644)
	rs, err := ParseRecipients([]string{edPub}, file)
	if err != nil || len(rs) != 3 {
		t.Fatalf("ParseRecipients = %d, %v", len(rs), err)
	}
	sshIDs, err := LoadIdentities(edPriv, nil)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, rs, sshIDs)
	ageIDs, _ := LoadIdentities(filepath.Join(dir, "age.txt"), nil)
	roundTrip(t, rs, ageIDs)

	// The wrong identity is named as such.
	other, _ := GenerateIdentity(filepath.Join(dir, "other.txt"))
	or, _ := ParseRecipient(other)
	var buf bytes.Buffer
	w, _ := Encrypt(&buf, []Recipient{or})
	w.Write([]byte("x"))
	w.Close()
	if _, err := Decrypt(bytes.NewReader(buf.Bytes()), ageIDs); !errors.Is(err, ErrWrongIdentity) {
		t.Fatalf("wrong identity: %v", err)
	}
	if _, err := Decrypt(strings.NewReader("not age at all"), ageIDs); err == nil || errors.Is(err, ErrWrongIdentity) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestBadRecipients(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	// One character of a real key changed (bech32's checksum catches it);
	// it must differ from the key's own fifth character, or the key stays
	// valid (that made this test fail one run in 32).
	pub := id.Recipient().String()
	swap := "x"
	if pub[4] == 'x' {
		swap = "q"
	}
	cases := map[string]string{
		"":                      "not a key",
		"hello":                 "not a key",
		"age1notakey":           "not a valid age public key",
		"ssh-ed25519 AAAA":      "not a valid ssh public key",
		"ssh-dss AAAAB3Nza":     "not a valid ssh public key",
		id.String():             "identity (secret key)",
		"age1" + swap + pub[5:]: "not a valid age public key",
	}
	for in, want := range cases {
		_, err := ParseRecipient(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRecipient(%q) = %v, want %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "AGE-SECRET-KEY") {
			t.Errorf("error repeats the secret key: %v", err)
		}
	}
	// The key is quoted shortened to 24 bytes, never inside a character
	// (a key pasted from a document with typographic marks).
	// "«" takes bytes 24 and 25 (counting from 1).
	_, err := ParseRecipient("public key of fe01.lync«age1qqqqqqqqq»")
	if want := `recipient "public key of fe01.lync…" is not a key`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ParseRecipient: %v, want %s", err, want)
	}
	dir := t.TempDir()
	if _, err := ParseRecipients(nil, ""); err == nil {
		t.Error("no recipients accepted")
	}
	if _, err := ParseRecipients(nil, filepath.Join(dir, "missing")); err == nil {
		t.Error("missing recipients file accepted")
	}
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("# c\nage1bogus\n"), 0o644)
	if _, err := ParseRecipients(nil, bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad recipients file: %v", err)
	}
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("# only comments\n"), 0o644)
	if _, err := ParseRecipients(nil, empty); err == nil {
		t.Error("recipients file without keys accepted")
	}
}

func TestBadIdentities(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o600)
		return p
	}
	pub, _ := GenerateIdentity(filepath.Join(dir, "k"))
	enc := write("enc", "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n")
	for name, p := range map[string]string{
		"missing":    filepath.Join(dir, "nope"),
		"empty":      write("empty", ""),
		"public key": write("pub", pub+"\n"),
		"garbage":    write("garbage", "hello\n"),
		"bad pem":    enc,
	} {
		ids, err := LoadIdentities(p, nil)
		if err == nil {
			t.Errorf("%s: accepted %d identities", name, len(ids))
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: multi-line error %q", name, err)
		}
	}
}

// FuzzParseRecipient: never a panic; never echoes a secret key; what it
// accepts round-trips through its text form.
func FuzzParseRecipient(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	for _, s := range []string{id.Recipient().String(), id.String(), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINiDWO3VN/qXIT7HArQoZtp+fhWHGiTKVENwNBunXOLz c", "ssh-rsa AAAA", "age1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecipient(s)
		if err != nil {
			if strings.Contains(err.Error(), "AGE-SECRET-KEY-1") && len(s) > 30 {
				t.Fatalf("error echoes a secret: %v", err)
			}
			return
		}
		again, err := ParseRecipient(r.Text)
		if err != nil || again.Text != r.Text {
			t.Fatalf("text form %q does not round-trip: %v", r.Text, err)
		}
	})
}

// FuzzLoadIdentities: any identity file content gives identities or one error line.
func FuzzLoadIdentities(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	f.Add("# created\n" + id.String() + "\n")
	f.Add("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
	f.Add("AGE-SECRET-KEY-1\n")
	// Passphrase-protected forms: the header is read before any passphrase.
	f.Add("age-encryption.org/v1\n-> scrypt c2FsdA 10\nYm9keQ\n--- bWFj\n")
	f.Add("age-encryption.org/v1\n-> X25519 c2FsdA\nYm9keQ\n--- bWFj\n")
	f.Add("-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IHNjcnlwdA==\n-----END AGE ENCRYPTED FILE-----\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data string) {
		p := filepath.Join(dir, "id")
		os.WriteFile(p, []byte(data), 0o600)
		ids, err := LoadIdentities(p, nil)
		if err == nil && len(ids) == 0 {
			t.Fatal("no error and no identity")
		}
	})
}

// TestProtectedIdentityFiles: identity files protected as age -d -i takes
// them (encrypted with age -p, binary or armored; a passphrase-protected
// ssh key, ed25519 or rsa) open with their passphrase, asked once; a wrong
// one, none, or a file encrypted to a key are one line naming the cause.
func TestProtectedIdentityFiles(t *testing.T) {
	dir := t.TempDir()
	const pass = "correct horse battery staple"
	ask := func(want string, calls *int) Passphrase {
		return func(path string) (string, error) { *calls++; return want, nil }
	}
	// An age identity encrypted with a passphrase, as age -p writes it.
	inner, _ := age.GenerateX25519Identity()
	innerR, _ := ParseRecipient(inner.Recipient().String())
	seal := func(name string, armored bool, to age.Recipient) string {
		var buf bytes.Buffer
		var dst io.Writer = &buf
		var aw io.WriteCloser
		if armored {
			aw = armor.NewWriter(&buf)
			dst = aw
		}
		w, err := age.Encrypt(dst, to)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "# created: today\n"+inner.String()+"\n")
		w.Close()
		if aw != nil {
			aw.Close()
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, buf.Bytes(), 0o600)
		return p
	}
	sr, _ := age.NewScryptRecipient(pass)
	sr.SetWorkFactor(10) // fast; age -p uses 18
	for _, armored := range []bool{false, true} {
		p := seal(fmt.Sprintf("key-%v.age", armored), armored, sr)
		opensWithPassphrase(t, p, pass, innerR)
		if _, err := LoadIdentities(p, func(string) (string, error) { return "", errors.New("no terminal") }); err == nil || !strings.HasSuffix(err.Error(), "is protected by a passphrase: no terminal") {
			t.Errorf("armored %v, passphrase refused: %v", armored, err)
		}
	}
	// Encrypted to a key: no passphrase opens it, so none is asked for.
	other, _ := age.GenerateX25519Identity()
	p := seal("to-key.age", false, other.Recipient())
	calls := 0
	if _, err := LoadIdentities(p, ask(pass, &calls)); err == nil || calls != 0 || !strings.Contains(err.Error(), "is encrypted to a key, not with a passphrase: decrypt it first (age -d)") {
		t.Errorf("encrypted to a key: %v (asked %d times)", err, calls)
	}

	// Passphrase-protected ssh keys.
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, k := range map[string]struct {
		priv any
		pub  any
	}{"ed25519": {edPriv, edPub}, "rsa": {rsaKey, &rsaKey.PublicKey}} {
		blk, err := ssh.MarshalPrivateKeyWithPassphrase(k.priv, "admin@fe01", []byte(pass))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "id_"+name)
		os.WriteFile(p, pem.EncodeToMemory(blk), 0o600)
		sp, _ := ssh.NewPublicKey(k.pub)
		r, err := ParseRecipient(string(ssh.MarshalAuthorizedKey(sp)))
		if err != nil {
			t.Fatal(err)
		}
		opensWithPassphrase(t, p, pass, r)
	}
}

// opensWithPassphrase: the protected identity file p opens with pass,
// asked once, and decrypts for r; a wrong passphrase and none are refused
// with one line each.
func opensWithPassphrase(t *testing.T, p, pass string, r Recipient) {
	t.Helper()
	calls := 0
	ask := func(give string) Passphrase {
		return func(string) (string, error) { calls++; return give, nil }
	}
	ids, err := LoadIdentities(p, ask(pass))
	if err != nil || calls != 1 {
		t.Fatalf("%s: %v (asked %d times)", p, err, calls)
	}
	roundTrip(t, []Recipient{r}, ids)
	if _, err := LoadIdentities(p, ask("wrong")); err == nil || err.Error() != "identity file "+p+": wrong passphrase" {
		t.Errorf("%s, wrong passphrase: %v", p, err)
	}
	if _, err := LoadIdentities(p, nil); err == nil || err.Error() != "identity file "+p+" is protected by a passphrase" {
		t.Errorf("%s, no passphrase: %v", p, err)
	}
}

// TestKeyFilesAsEditorsSaveThem: an identity or recipients file saved by a
// Windows editor (UTF-8 with a byte-order mark, UTF-16 "Unicode" either
// way round, CRLF) or pasted with blanks around the key still reads.
func TestKeyFilesAsEditorsSaveThem(t *testing.T) {
	dir := t.TempDir()
	id, _ := age.GenerateX25519Identity()
	r, _ := ParseRecipient(id.Recipient().String())
	utf16Of := func(le bool) func(string) []byte {
		return func(s string) []byte {
			out := []byte{0xFE, 0xFF}
			if le {
				out = []byte{0xFF, 0xFE}
			}
			for _, c := range utf16.Encode([]rune(strings.ReplaceAll(s, "\n", "\r\n"))) {
				if le {
					out = append(out, byte(c), byte(c>>8))
				} else {
					out = append(out, byte(c>>8), byte(c))
				}
			}
			return out
		}
	}
	asIs := func(s string) []byte { return []byte(s) }
	for name, c := range map[string]struct {
		enc    func(string) []byte
		layout string // %s: the key
	}{
		"bom":        {func(s string) []byte { return append([]byte{0xEF, 0xBB, 0xBF}, s...) }, "# created: today\n%s\n"},
		"crlf":       {asIs, "# created: today\r\n%s\r\n"},
		"utf16le":    {utf16Of(true), "# created: today\n%s\n"},
		"utf16be":    {utf16Of(false), "# created: today\n%s\n"},
		"blanks":     {asIs, "\n   %s \t\n\n"},
		"no newline": {asIs, "%s"},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, c.enc(fmt.Sprintf(c.layout, id.String())), 0o600)
		ids, err := LoadIdentities(p, nil)
		if err != nil {
			t.Errorf("identity file %s: %v", name, err)
		} else {
			roundTrip(t, []Recipient{r}, ids)
		}
		os.WriteFile(p+".pub", c.enc(fmt.Sprintf(c.layout, id.Recipient().String())), 0o644)
		rs, err := ParseRecipients(nil, p+".pub")
		if err != nil || len(rs) != 1 || rs[0].Text != id.Recipient().String() {
			t.Errorf("recipients file %s: %v %v", name, rs, err)
		}
	}
}

// TestIdentityFileTooLarge: a big file named as the identity (a backup
// object, a dump) is refused after reading 2 MiB of it, with one line that
// says it is no identity file; a directory names itself.
func TestIdentityFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sql.tar.zst.age")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(64 << 20) // sparse
	f.Close()
	_, err = LoadIdentities(p, nil)
	if err == nil || err.Error() != "identity file "+p+" is larger than 2 MiB: not an identity file (an age identity file holds a secret key line, as keygen writes it)" {
		t.Errorf("64 MiB file: %v", err)
	}
	if _, err := LoadIdentities(dir, nil); err == nil || !strings.HasPrefix(err.Error(), "read identity file: ") {
		t.Errorf("a folder: %v", err)
	}
	if _, err := ParseRecipients(nil, p); err == nil || err.Error() != "recipients file "+p+" is larger than 2 MiB: not a recipients file (one age1… or ssh public key a line)" {
		t.Errorf("64 MiB recipients file: %v", err)
	}
}

// TestIdentityIsAPublicKey: the public key given where the identity
// belongs (keygen's output, an ssh .pub file) is named as such.
func TestIdentityIsAPublicKey(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	sp, _ := ssh.NewPublicKey(edPub)
	for name, text := range map[string]string{
		"age.pub":  id.Recipient().String() + "\n",
		"id.pub":   string(ssh.MarshalAuthorizedKey(sp)),
		"both.txt": "# public keys\r\n  " + id.Recipient().String() + "  \r\n",
	} {
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, []byte(text), 0o600)
		_, err := LoadIdentities(p, nil)
		if err == nil || err.Error() != "identity file "+p+" holds a public key, not the secret one: give the file keygen wrote (the secret key) or the private ssh key" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A PuTTY key (.ppk), as PuTTYgen saves it on Windows.
	ppk := filepath.Join(t.TempDir(), "admin.ppk")
	os.WriteFile(ppk, []byte("PuTTY-User-Key-File-3: ssh-ed25519\r\nEncryption: none\r\nComment: admin@fe01\r\nPublic-Lines: 2\r\n"), 0o600)
	if _, err := LoadIdentities(ppk, nil); err == nil || !strings.Contains(err.Error(), "is a PuTTY key: export it as an OpenSSH key") {
		t.Errorf("ppk: %v", err)
	}
	// The chunk key from the staging folder.
	ck := filepath.Join(t.TempDir(), "fe01.chunkkey")
	os.WriteFile(ck, []byte(ChunkKeyHeader+": names and cuts chunks\n"+strings.Repeat("ab", 32)+"\n"), 0o600)
	if _, err := LoadIdentities(ck, nil); err == nil || !strings.Contains(err.Error(), "is the host's chunk key, which names chunks and decrypts nothing") {
		t.Errorf("chunk key: %v", err)
	}
	// Not a key at all: the parser's words.
	p := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(p, []byte("hello\n"), 0o600)
	if _, err := LoadIdentities(p, nil); err == nil || !strings.Contains(err.Error(), "not an age identity file") {
		t.Errorf("notes: %v", err)
	}
}

// TestThrowawayIdentity: the demo's key is kept while its file holds one
// (its public key taken from the secret key), made when there is none, and
// replaced when the file holds nothing like a key; a key it cannot use, or
// a file that cannot be read, is an error, not replaced.
func TestThrowawayIdentity(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "demo-identity.txt")
	pub, created, err := ThrowawayIdentity(p)
	if err != nil || !created || !strings.HasPrefix(pub, "age1") {
		t.Fatalf("no file: %q, created %v, %v", pub, created, err)
	}
	before, _ := os.ReadFile(p)
	again, created, err := ThrowawayIdentity(p)
	if err != nil || created || again != pub {
		t.Fatalf("existing file: %q (want %q), created %v, %v", again, pub, created, err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Fatal("an existing identity was rewritten")
	}
	if _, err := LoadIdentities(p, nil); err != nil {
		t.Fatal(err)
	}

	// A valid key without its comment (or with a wrong one) is kept, and
	// its public key is the secret key's: the old code took the comment
	// and replaced a file without one, deleting the key.
	id, _ := age.GenerateX25519Identity()
	for _, body := range []string{id.String() + "\n", "# public key: " + pub + "\n" + id.String() + "\n"} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		got, created, err := ThrowawayIdentity(p)
		if err != nil || created || got != id.Recipient().String() {
			t.Fatalf("key file %q: %q (want %q), created %v, %v", body, got, id.Recipient(), created, err)
		}
		if b, _ := os.ReadFile(p); string(b) != body {
			t.Fatalf("a valid key was rewritten:\n%s", b)
		}
	}
	// Something that looks like a key but is none lyncbackup can use:
	// refused, left as it is.
	for _, body := range []string{"AGE-SECRET-KEY-1 damaged\n", "AGE-PLUGIN-YUBIKEY-1XYZ\n", "age-encryption.org/v1\n-> scrypt abc 18\n"} {
		os.WriteFile(p, []byte(body), 0o600)
		if _, _, err := ThrowawayIdentity(p); err == nil || !strings.Contains(err.Error(), "left as it is") {
			t.Errorf("key file %q: %v", body, err)
		}
		if b, _ := os.ReadFile(p); string(b) != body {
			t.Errorf("key file %q replaced by:\n%s", body, b)
		}
	}
	// No key at all: replaced by a new one.
	os.WriteFile(p, []byte("not a key\n"), 0o600)
	other, created, err := ThrowawayIdentity(p)
	if err != nil || !created || !strings.HasPrefix(other, "age1") {
		t.Fatalf("file without a key: %q, created %v, %v", other, created, err)
	}
	if b, _ := os.ReadFile(p); !strings.Contains(string(b), "# public key: "+other) {
		t.Fatalf("not replaced:\n%s", b)
	}

	// A folder where the file should be: read fails, nothing replaced.
	d := filepath.Join(dir, "folder")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ThrowawayIdentity(d); err == nil {
		t.Fatal("a folder as the identity file accepted")
	}
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		t.Fatalf("the folder was replaced: %v", err)
	}
}
