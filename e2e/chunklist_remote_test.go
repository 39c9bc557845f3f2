package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
)

// chunkReads counts, in the requests a proxy saw, the GETs of each chunk
// list and of each chunk object; any other request for them is an error,
// and so is a chunk list read by range.
func chunkReads(t *testing.T, reqs []faultproxy.Seen) (lists, gets map[string]int) {
	t.Helper()
	lists, gets = map[string]int{}, map[string]int{}
	for _, r := range reqs {
		path, _ := url.PathUnescape(r.URL)
		path, _, _ = strings.Cut(path, "?")
		isList, isChunk := strings.HasSuffix(path, ".chunks"), strings.Contains(path, "/chunks/")
		if !isList && !isChunk {
			continue
		}
		if r.Method != http.MethodGet {
			t.Errorf("%s %s: want only GETs of the chunk list and the chunks", r.Method, path)
			continue
		}
		if isList {
			lists[path]++
			if rg := r.Header.Get("Range") + r.Header.Get("X-Ms-Range"); rg != "" {
				t.Errorf("the chunk list was read by range (%s): want one whole GET", rg)
			}
		} else {
			gets[path]++
		}
	}
	return lists, gets
}

// checkChunkedRestoreRequests holds the requests a restore of one chunked
// item made (seen by a proxy) to the plan: its chunk list read with one
// whole GET (no Range), and each of its chunk objects with one GET; no
// HEAD (S3 HeadObject, Azure Get Blob Properties) for the list or any
// chunk. chunks is how many chunk objects the store holds (the item's:
// its data is random, so no two chunks are alike).
func checkChunkedRestoreRequests(t *testing.T, reqs []faultproxy.Seen, chunks int) {
	t.Helper()
	lists, gets := chunkReads(t, reqs)
	if len(lists) != 1 {
		t.Errorf("chunk lists read: %v, want one, once", lists)
	}
	for k, n := range lists {
		if n != 1 {
			t.Errorf("chunk list %s: %d GETs, want 1", k, n)
		}
	}
	eachChunkReadOnce(t, gets, chunks)
}

// eachChunkReadOnce: gets (chunkReads) holds every one of the store's
// chunks objects, each read with one GET.
func eachChunkReadOnce(t *testing.T, gets map[string]int, chunks int) {
	t.Helper()
	if len(gets) != chunks {
		t.Errorf("%d chunk objects read, the store holds %d", len(gets), chunks)
	}
	for k, n := range gets {
		if n != 1 {
			t.Errorf("chunk %s: %d GETs, want 1", k, n)
		}
	}
}

// chunkObjects counts the chunk objects in the bucket.
func (e *s3Env) chunkObjects() int {
	e.t.Helper()
	n := 0
	for _, k := range e.keys() {
		if strings.Contains(k, "/chunks/") {
			n++
		}
	}
	return n
}

// TestS3ChunkedRestoreRequests: a restore of a chunked item from S3 reads
// its chunk list with one GET and no HEAD, and each chunk with one GET.
func TestS3ChunkedRestoreRequests(t *testing.T) {
	e := newS3Env(t, false)
	e.format = "chunked"
	e.writeConfig()
	e.backup()
	chunks := e.chunkObjects()
	p := e.throughProxy(t)
	e.writeConfig()
	e.restoreAndCompare("", nil)
	checkChunkedRestoreRequests(t, p.Requests(), chunks)
}

// TestAzureChunkedRestoreRequests: the same on Azure (Azurite): one
// download of the chunk list and no properties request.
func TestAzureChunkedRestoreRequests(t *testing.T) {
	e := newAzEnv(t)
	e.format = "chunked"
	e.writeConfig()
	e.backup()
	chunks := 0
	for _, b := range e.blobs(false) {
		if strings.Contains(b, "/chunks/") {
			chunks++
		}
	}
	p := e.throughProxy(t)
	e.writeConfig()
	e.restoreAndCompare("", nil)
	checkChunkedRestoreRequests(t, p.Requests(), chunks)
}
