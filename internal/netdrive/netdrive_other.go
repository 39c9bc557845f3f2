//go:build !windows

package netdrive

func isRemote(string) bool { return false }
