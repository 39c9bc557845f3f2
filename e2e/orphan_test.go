package e2e

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/internal/faultpoint/fptest"
	"github.com/lyncbackup/lyncbackup/upload"
)

// A chunked backup killed after storing its chunks leaves orphans (chunk
// objects no manifest names); one of them is damaged before the next
// backup (one byte changed, size kept: bit rot in a folder, or a change
// that kept the object's metadata). The next backup adopted the damaged
// object, naming its SHA-256: the set was complete, verify without a key
// passed, and the restore failed in age. It now adopts an orphan only when
// its bytes hash to the SHA-256 recorded at its upload (S3 and Azure
// metadata), and stores it again otherwise or where there is none (a
// folder): the set restores. On every backend.
func TestDamagedOrphanChunkNotAdopted(t *testing.T) {
	forBackendsFormat(t, raceBackends, "chunked", func(t *testing.T, e *raceEnv) {
		ctx := context.Background()
		// Incompressible, so alpha is several chunks.
		r := rand.NewChaCha8([32]byte{5})
		big := make([]byte, 5<<20)
		r.Read(big)
		if err := os.WriteFile(filepath.Join(e.dir, "alpha", "recording.bin"), big, 0o644); err != nil {
			t.Fatal(err)
		}
		fp := fptest.Listen(t)
		b, _ := e.pausedBackup(fp, "item-stored")
		h := fp.Wait("item-stored", "alpha")
		b.cmd.Process.Kill() // SIGKILL: alpha's chunks stay, named by no manifest
		b.wait(t)
		h.Release()

		var orphans []upload.ObjectInfo
		if err := e.store.List(ctx, catalog.ChunkPrefix(raceHost), func(o upload.ObjectInfo) error {
			orphans = append(orphans, o)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(orphans) < 3 {
			t.Fatalf("the killed backup left %d chunks, want several", len(orphans))
		}
		victim := orphans[len(orphans)/2]
		info, err := e.store.Stat(ctx, victim.Key)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := e.store.Get(ctx, victim.Key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0x40
		// The same object with one byte changed, its recorded SHA-256 (if
		// any) kept.
		if _, err := e.store.Put(ctx, victim.Key, strings.NewReader(string(data)), upload.PutOptions{SHA256: info.SHA256}); err != nil {
			t.Fatal(err)
		}
		t.Logf("damaged %s (%d bytes, recorded SHA-256 %q)", victim.Key, len(data), info.SHA256)

		r2 := e.run("backup", "--progress=never", "--json")
		var sum struct {
			NewChunks    int64 `json:"new_chunks"`
			ReusedChunks int64 `json:"reused_chunks"`
		}
		if r2.Code != 0 || json.Unmarshal([]byte(r2.Stdout), &sum) != nil {
			t.Fatalf("the next backup: exit %d\n%s%s", r2.Code, r2.Stdout, r2.Stderr)
		}
		// The intact orphans are adopted where their hash was recorded (no
		// upload: a crashed first backup is not uploaded again); a folder
		// keeps none, and every orphan is written again.
		want := int64(len(orphans) - 1)
		if e.local != "" {
			want = 0
		}
		if sum.ReusedChunks != want {
			t.Errorf("the next backup reused %d chunks (new %d) of the %d orphans, want %d", sum.ReusedChunks, sum.NewChunks, len(orphans), want)
		}
		to := filepath.Join(e.dir, "restored")
		if rr := e.run("restore", "latest", "--to", to, "--identity", e.key); rr.Code != 0 {
			v := e.run("verify", "latest")
			t.Fatalf("the next set does not restore: exit %d\n%s%s\n(verify without a key: exit %d)", rr.Code, rr.Stdout, rr.Stderr, v.Code)
		}
		got, err := os.ReadFile(filepath.Join(to, "alpha", "alpha", "recording.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(big) {
			t.Fatal("the restored file differs")
		}
		if v := e.run("verify", "latest", "--identity", e.key); v.Code != 0 {
			t.Errorf("verify --identity: exit %d\n%s%s", v.Code, v.Stdout, v.Stderr)
		}
	})
}
