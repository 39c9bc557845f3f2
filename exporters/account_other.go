//go:build !windows

package exporters

import "runtime"

// CurrentAccount: Lync group membership lives in Windows tokens.
func CurrentAccount() Account {
	return Account{NA: "Lync group membership is read from a Windows token; this is " + runtime.GOOS}
}
