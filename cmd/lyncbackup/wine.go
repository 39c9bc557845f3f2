//go:build wine

package main

// The Windows test lane (scripts/wine/lane.sh) builds the binary with
// -tags wine; release builds never set the tag.
import _ "github.com/lyncbackup/lyncbackup/internal/wine"
