// Package netdrive tells whether a path is on a drive letter mapped to a
// network share. A mapped drive belongs to the logon session that mapped
// it: a Scheduled Task runs in another session, where the letter does not
// exist, so a backup that works by hand fails every night with "does not
// exist". check warns about it.
package netdrive

import "path/filepath"

// Mapped reports whether path starts with a drive letter (C:) that is a
// network drive in this session, and that drive ("Z:"). It is false on
// systems without drive letters.
func Mapped(path string) (string, bool) {
	v := filepath.VolumeName(path)
	if len(v) != 2 || v[1] != ':' {
		return "", false
	}
	return v, isRemote(v + `\`)
}
