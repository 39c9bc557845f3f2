// Package filelock takes an operating system's exclusive lock on an open
// file (flock on Unix, LockFileEx on Windows), which the system drops
// however the process ends: a run's staging folder, a restore folder and
// the host's chunk key are each held this way while one process works on
// them.
package filelock
