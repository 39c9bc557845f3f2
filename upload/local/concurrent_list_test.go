package local

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lyncbackup/lyncbackup/upload"
)

// TestConcurrentSetListings: the catalog lists a host's sets in parallel
// (Folders of the host, then List of each set folder). A listing must not
// try to remove the folders above its prefix: on Windows a folder held
// open with DELETE access (RemoveDirectory's attempt) cannot be read by
// the other listings meanwhile ("Sharing violation"; the Wine lane saw it
// in e2e TestPruneLocalGFS).
func TestConcurrentSetListings(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	const sets = 8
	for i := 0; i < sets; i++ {
		if _, err := s.Put(ctx, fmt.Sprintf("h/s%d/obj", i), strings.NewReader("x"), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, sets*2)
	for i := 0; i < sets; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 30; r++ {
				if _, err := s.Folders(ctx, "h/"); err != nil {
					errs <- err
					return
				}
				n := 0
				if err := s.List(ctx, fmt.Sprintf("h/s%d/", i), func(upload.ObjectInfo) error { n++; return nil }); err != nil {
					errs <- err
					return
				}
				if n != 1 {
					errs <- fmt.Errorf("set s%d listed %d objects", i, n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
