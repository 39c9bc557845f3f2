//go:build windows && wine

package wine

import _ "unsafe" // for go:linkname

// Wine 8 does not implement NtSetInformationFile(FileDispositionInformationEx),
// through which Go's os.Remove/RemoveAll delete files on Windows, and Go does
// not recognise Wine's status as "unsupported, use the fallback", so every
// delete fails with "Invalid function". TestDeleteatFallback makes Go use its
// older FileDispositionInformation path, which Wine implements.
//
// Reaching into internal/syscall/windows needs -ldflags=-checklinkname=0,
// another reason a release build cannot contain this file by accident.
//
//go:linkname deleteatFallback internal/syscall/windows.TestDeleteatFallback
var deleteatFallback bool

func init() { deleteatFallback = true }
