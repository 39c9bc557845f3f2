//go:build !windows

package local

func networkPathDown(error) bool { return false }

func writeProtected(error) bool { return false }
