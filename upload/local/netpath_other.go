//go:build !windows

package local

func networkPathDown(error) bool { return false }
