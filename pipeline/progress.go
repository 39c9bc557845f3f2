// Package pipeline runs the work: exporters → tar → zstd → age → store,
// concurrently, then commits the manifest last; and the same pipe
// backwards for restore and verify.
package pipeline

// Progress receives events from a running backup, restore or verify.
// Implementations must be safe for concurrent use.
type Progress interface {
	// ItemStart announces an item; total is its plaintext size if known (else -1).
	ItemStart(name string, total int64)
	// Read counts plaintext bytes read (backup) or written/hashed (restore, verify).
	Read(name string, n int64)
	// Stored counts encrypted bytes handed to (or read from) the store.
	Stored(name string, n int64)
	// ItemDone ends an item; err is nil on success.
	ItemDone(name string, err error)
}

// NoProgress ignores every event.
type NoProgress struct{}

func (NoProgress) ItemStart(string, int64) {}
func (NoProgress) Read(string, int64)      {}
func (NoProgress) Stored(string, int64)    {}
func (NoProgress) ItemDone(string, error)  {}
