package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/lyncbackup/lyncbackup/upload"
)

// misplacedLookups bounds the folder listings Misplaced makes.
const misplacedLookups = 40

// Misplaced is asked when a destination holds no set. It looks for the
// two ways a destination URL can be one folder off, which otherwise read
// as an empty destination on the night a restore is needed: the URL of a
// host's folder (its folders are set ids and chunks), and the URL of a
// folder above the sets (a folder below it holds hosts with set folders).
// It returns a sentence saying which, for the "no backup sets" line, or ""
// when it finds neither (or the store cannot name folders).
func Misplaced(ctx context.Context, st upload.Store) string {
	f, ok := upload.As[upload.Folderer](st)
	if !ok {
		return ""
	}
	lookups := 0
	folders := func(prefix string) ([]string, bool) {
		if lookups++; lookups > misplacedLookups {
			return nil, false
		}
		names, err := f.Folders(ctx, prefix)
		return names, err == nil
	}
	top, ok := folders("")
	if !ok {
		return ""
	}
	for _, name := range top {
		// "chunks" (ChunkPrefix), "chunk-locks" (chunk.LockPrefix) and
		// "chunk-damaged" (chunk.DamagedPrefix) are a host's folders
		// beside its sets.
		if name == "chunks" || name == "chunk-locks" || name == "chunk-damaged" || isSetID(name) {
			return "this looks like the folder of one host, holding its set folders: use the folder above it as the destination"
		}
	}
	for _, dir := range top {
		hosts, ok := folders(dir + "/")
		if !ok {
			return ""
		}
		for _, h := range hosts {
			if !ValidName(h) {
				continue
			}
			ids, ok := folders(dir + "/" + h + "/")
			if !ok {
				return ""
			}
			for _, id := range ids {
				if isSetID(id) {
					return fmt.Sprintf("sets of host %s are in its folder %q: add /%s to the destination", h, dir, dir)
				}
			}
		}
	}
	return ""
}

func isSetID(name string) bool {
	_, err := ParseSetID(name)
	return err == nil
}

// HostSpelledOtherwise returns the name of a host folder in st that is host
// but for case, or "". Host names are one name without case (DNS names,
// Windows computer names), and on a folder destination on Windows (or any
// case-insensitive file system) two spellings are one folder: a backup
// under the new spelling would not see the old one's chunks, and would
// store them again over the objects the old sets' manifests describe.
func HostSpelledOtherwise(ctx context.Context, st upload.Store, host string) string {
	f, ok := upload.As[upload.Folderer](st)
	if !ok {
		return ""
	}
	hosts, err := f.Folders(ctx, "")
	if err != nil {
		return ""
	}
	for _, h := range hosts {
		if h != host && strings.EqualFold(h, host) && ValidName(h) {
			return h
		}
	}
	return ""
}
