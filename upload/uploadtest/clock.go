package uploadtest

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/upload"
)

// ClockStore is a store with a clock of its own, as a file server or an
// object store has: every object written through it gets its modification
// time from the store's clock (this process's clock plus Ahead), whatever
// the clock of the process writing; listings, Stat and Now (upload.Clock)
// report that clock. Tests of what judges an object's age in the store's
// clock move it with Advance.
type ClockStore struct {
	upload.Store
	mu    sync.Mutex
	ahead time.Duration
	mt    map[string]time.Time
}

// NewClockStore wraps st with a clock ahead of this process's by ahead
// (negative: behind).
func NewClockStore(st upload.Store, ahead time.Duration) *ClockStore {
	return &ClockStore{Store: st, ahead: ahead, mt: map[string]time.Time{}}
}

// Time is the store's present time.
func (s *ClockStore) Time() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.ahead).Round(0).UTC()
}

// Now implements upload.Clock.
func (s *ClockStore) Now(context.Context) (time.Time, error) { return s.Time(), nil }

// Advance moves the store's clock on by d (time passes for the store, and
// for every machine but the one running the test's process).
func (s *ClockStore) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ahead += d
}

func (s *ClockStore) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	info, err := s.Store.Put(ctx, key, r, o)
	if err == nil {
		t := s.Time()
		s.mu.Lock()
		s.mt[key] = t
		s.mu.Unlock()
		info.ModTime = t
	}
	return info, err
}

func (s *ClockStore) fix(o upload.ObjectInfo) upload.ObjectInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.mt[o.Key]; ok {
		o.ModTime = t
	}
	return o
}

func (s *ClockStore) Stat(ctx context.Context, key string) (upload.ObjectInfo, error) {
	o, err := s.Store.Stat(ctx, key)
	return s.fix(o), err
}

func (s *ClockStore) List(ctx context.Context, p string, fn func(upload.ObjectInfo) error) error {
	return s.Store.List(ctx, p, func(o upload.ObjectInfo) error { return fn(s.fix(o)) })
}

func (s *ClockStore) Delete(ctx context.Context, key string) error {
	err := s.Store.Delete(ctx, key)
	if err == nil {
		s.mu.Lock()
		delete(s.mt, key)
		s.mu.Unlock()
	}
	return err
}

// Unwrap implements upload.Unwrapper.
func (s *ClockStore) Unwrap() upload.Store { return s.Store }
