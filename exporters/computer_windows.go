//go:build windows

package exporters

import (
	"os"

	"golang.org/x/sys/windows"
)

// computerName is this computer's DNS name, fully qualified (its host name
// and primary DNS suffix, the name the Lync topology gives a server) where
// the system has a suffix; else the host name os.Hostname gives.
func computerName() string {
	n := uint32(256)
	for i := 0; i < 2; i++ {
		buf := make([]uint16, n)
		err := windows.GetComputerNameEx(windows.ComputerNameDnsFullyQualified, &buf[0], &n)
		if err == nil {
			if s := windows.UTF16ToString(buf[:n]); s != "" {
				return s
			}
			break
		}
		if err != windows.ERROR_MORE_DATA {
			break
		}
	}
	h, _ := os.Hostname()
	return h
}
