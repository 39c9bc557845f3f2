//go:build !windows

package exporters

import "os"

// computerName is this machine's name as the system reports it (short or
// fully qualified, as its hostname is set).
func computerName() string {
	h, _ := os.Hostname()
	return h
}
