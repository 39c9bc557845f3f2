//go:build !windows

package oserr

func netPathDown(error) bool { return false }

func writeProtected(error) bool { return false }

func held(error) bool { return false }
