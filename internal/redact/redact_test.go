package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestPatterns(t *testing.T) {
	r := New()
	cases := map[string]string{
		"https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&sig=AbC%2Bdef123%3D&se=2030":                       "AbC%2Bdef123%3D",
		"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=x": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==",
		"identity AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZKS5RSQ2 is bad":              "QYQSZQGPQYQSZQGPQYQSZQGP",
		"dial smtp://user:hunter2hunter2@mail.example:587 failed":                                                   "hunter2hunter2",
		"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig":                                                    "eyJhbGciOiJIUzI1NiJ9",
		"key AKIAIOSFODNN7EXAMPLE used":                                                                             "AKIAIOSFODNN7EXAMPLE",
		"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----":           "b3BlbnNzaC1rZXktdjEAAAA",
		"https://x/presign?X-Amz-Signature=deadbeefcafe&X-Amz-Credential=AK%2F2024":                                 "deadbeefcafe",
	}
	for in, secret := range cases {
		out := r.String(in)
		if strings.Contains(out, secret) || !strings.Contains(out, Mask) {
			t.Errorf("String(%q) = %q: secret %q not masked", in, out, secret)
		}
	}
	if got := r.String("http://127.0.0.1:8080/path item ok"); got != "http://127.0.0.1:8080/path item ok" {
		t.Errorf("harmless text changed: %q", got)
	}
}

func TestKnownValuesAndForms(t *testing.T) {
	r := New()
	r.AddEnv([]string{"LB_SMTP_PASSWORD=pa\"ss<w>rd&x", "HOME=/root", "AZURE_STORAGE_SAS_TOKEN=sv=1&sig=zz", "SHORT_TOKEN=ab"})
	r.AddURL("https://hooks.example/services/T000/B000/XXXXSECRETPATH?k=QUERYSECRET", true)
	secret := "pa\"ss<w>rd&x"
	js, _ := json.Marshal(map[string]string{"p": secret})
	for _, in := range []string{"plain " + secret, string(js), "url " + "pa%22ss%3Cw%3Erd%26x", "hook https://hooks.example/services/T000/B000/XXXXSECRETPATH?k=QUERYSECRET failed", "path /services/T000/B000/XXXXSECRETPATH", "q QUERYSECRET"} {
		out := r.String(in)
		for _, bad := range []string{"ss<w>rd", `ss\u003cw\u003erd`, "ss%3Cw", "XXXXSECRETPATH", "QUERYSECRET"} {
			if strings.Contains(out, bad) {
				t.Errorf("String(%q) = %q still holds %q", in, out, bad)
			}
		}
	}
	if strings.Contains(r.String("/root"), Mask) {
		t.Error("HOME is not a secret")
	}
	if strings.Contains(r.String("ab"), Mask) {
		t.Error("values shorter than 4 are ignored")
	}
}

func TestSlogAndWriterAndError(t *testing.T) {
	r := New()
	r.Add("s3cr3t-value")
	var buf bytes.Buffer
	for _, h := range []slog.Handler{
		slog.NewTextHandler(r.Writer(&buf), &slog.HandlerOptions{ReplaceAttr: r.ReplaceAttr}),
		slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: r.ReplaceAttr}),
	} {
		l := slog.New(h).With("ctx", "with s3cr3t-value")
		l.Error("msg s3cr3t-value", "err", errors.New("boom s3cr3t-value"), "url", "x?sig=abcdef", "n", 3)
	}
	if strings.Contains(buf.String(), "s3cr3t") || strings.Contains(buf.String(), "abcdef") {
		t.Fatalf("log leaked:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "n=3") {
		t.Fatalf("non-secret attribute lost:\n%s", buf.String())
	}
	base := errors.New("open s3cr3t-value")
	err := r.Error(base)
	if strings.Contains(err.Error(), "s3cr3t") || !errors.Is(err, base) {
		t.Fatalf("Error: %q (Is %v)", err, errors.Is(err, base))
	}
}

func FuzzString(f *testing.F) {
	f.Add("sig=abc&x=1", "secretvalue")
	f.Add("AGE-SECRET-KEY-1ABC", "zz")
	f.Fuzz(func(t *testing.T, in, secret string) {
		r := New()
		r.Add(secret)
		out := r.String(in + secret + in)
		if s := strings.TrimSpace(secret); len(s) >= minLen && strings.Contains(out, s) {
			// A secret may survive only when the mask itself spells it.
			if !strings.Contains(Mask, s) {
				t.Fatalf("secret %q survives in %q", s, out)
			}
		}
	})
}

// A connection string's account key is masked even where it appears alone.
func TestConnectionStringKeyAlone(t *testing.T) {
	r := New()
	r.AddEnv([]string{"AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=x;AccountKey=c2VjcmV0a2V5PQ=="})
	if got := r.String("key c2VjcmV0a2V5PQ== refused"); got != "key "+Mask+" refused" {
		t.Fatalf("got %q", got)
	}
}

// TestSecretEdges: a secret of the shortest length redacted (4), a key of
// a connection string of that length, a secret inside a longer one (the
// longer one goes whole, no tail left), a PEM key's lines of 16
// characters printed alone, and a Writer's result.
func TestSecretEdges(t *testing.T) {
	r := New()
	r.Add("abc", "wxyz", "Pa55word-2026", "Pa55word-2026-old!", "AccountName=lb;AccountKey=QRST;EndpointSuffix=core.windows.net")
	r.Add("-----BEGIN KEY-----\nABCDEFGHIJKLMNOP\nshort-line-15ch\n-----END KEY-----")
	for in, want := range map[string]string{
		"pw wxyz":                    "pw " + Mask,
		"pw abc":                     "pw abc", // under 4 characters: too short to be told from text
		"old Pa55word-2026-old! new": "old " + Mask + " new",
		"new Pa55word-2026 old":      "new " + Mask + " old",
		"key QRST":                   "key " + Mask,
		"line ABCDEFGHIJKLMNOP":      "line " + Mask,
		"line short-line-15ch":       "line short-line-15ch", // under 16: a line alone is not a secret
	} {
		if got := r.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	var b bytes.Buffer
	w := r.Writer(&b)
	if n, err := w.Write([]byte("pw wxyz\n")); n != 8 || err != nil || b.String() != "pw "+Mask+"\n" {
		t.Errorf("Write: %d %v %q", n, err, b.String())
	}
	boom := errors.New("disk full")
	if n, err := r.Writer(failWriter{boom}).Write([]byte("x")); n != 0 || !errors.Is(err, boom) {
		t.Errorf("Write to a failing writer: %d %v", n, err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
