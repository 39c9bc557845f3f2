package upload_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// TestLimitSharedRate measures the rate achieved by three concurrent real
// uploads (to a local store) through one limiter: together they must move
// at the configured rate within ±15%, not three times it.
func TestLimitSharedRate(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~5 s")
	}
	inner, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const rateBPS = 1 << 20 // 1 MiB/s
	st := upload.Limit(inner, rateBPS)
	const each = 1600 << 10 // 3 × 1.6 MiB ≈ 4.7 s at 1 MiB/s
	data := make([]byte, each)
	rand.Read(data)

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	start := time.Now()
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// An unknown-length stream, as the pipeline hands it over.
			info, err := st.Put(context.Background(), "obj"+string(rune('a'+i)), io.MultiReader(bytes.NewReader(data)), upload.PutOptions{})
			if err == nil && info.Size != each {
				err = io.ErrShortWrite
			}
			errs <- err
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	achieved := float64(3*each) / elapsed.Seconds()
	t.Logf("3 concurrent uploads of %d bytes in %v: %.0f B/s (limit %d B/s, %+.1f%%)",
		each, elapsed.Round(time.Millisecond), achieved, rateBPS, 100*(achieved/rateBPS-1))
	if achieved < 0.85*rateBPS || achieved > 1.15*rateBPS {
		t.Fatalf("achieved %.0f B/s, want %d B/s ±15%%", achieved, rateBPS)
	}
	// The data arrived intact through the limiter.
	rc, err := inner.Get(context.Background(), "obja", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("object stored through the limiter differs from what was sent")
	}
}

func TestLimitKeepsCapabilities(t *testing.T) {
	inner, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := upload.Limit(inner, 1000)
	_, innerJ := any(inner).(upload.Janitor)
	_, innerP := any(inner).(upload.Prober)
	_, innerL := any(inner).(upload.Locker)
	_, j := upload.As[upload.Janitor](st)
	_, p := upload.As[upload.Prober](st)
	_, l := upload.As[upload.Locker](st)
	if j != innerJ || p != innerP || l != innerL {
		t.Fatalf("capabilities changed: janitor %v→%v prober %v→%v locker %v→%v", innerJ, j, innerP, p, innerL, l)
	}
	if st.String() != inner.String() {
		t.Fatalf("String() = %q, want %q", st.String(), inner.String())
	}
	if upload.Limit(inner, 0) != upload.Store(inner) {
		t.Fatal("Limit(s, 0) must return s unchanged")
	}
}

// A rate below the reader's buffer size must still work (chunks are cut to
// the burst) and a cancelled context must stop a throttled upload.
func TestLimitSlowRateCancel(t *testing.T) {
	inner, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := upload.Limit(inner, 100) // 100 B/s, burst 12 B
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = st.Put(ctx, "slow", bytes.NewReader(make([]byte, 10000)), upload.PutOptions{})
	if err == nil {
		t.Fatal("Put of 10000 bytes at 100 B/s finished within 300ms; the limit was not applied")
	}
	if _, serr := inner.Stat(context.Background(), "slow"); serr == nil {
		t.Fatal("a cancelled Put left an object behind")
	}
}
