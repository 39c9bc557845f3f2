package main

import (
	"debug/pe"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// server2012Imports are the functions the release lyncbackup.exe imports
// statically (the rest Go resolves at run time), each checked against
// Microsoft's "minimum supported server" to exist on Windows Server 2012.
// A function missing from a system keeps the binary from starting at all,
// before any of our code runs, so a new one must be checked the same way
// before it is added here.
var server2012Imports = map[string]bool{
	"AddVectoredContinueHandler:kernel32.dll":  true, // Server 2003
	"AddVectoredExceptionHandler:kernel32.dll": true, // Server 2003
	"CloseHandle:kernel32.dll":                 true,
	"CreateEventA:kernel32.dll":                true,
	"CreateIoCompletionPort:kernel32.dll":      true,
	"CreateThread:kernel32.dll":                true,
	"CreateWaitableTimerA:kernel32.dll":        true,
	"CreateWaitableTimerExW:kernel32.dll":      true, // Server 2008
	"DuplicateHandle:kernel32.dll":             true,
	"ExitProcess:kernel32.dll":                 true,
	"FreeEnvironmentStringsW:kernel32.dll":     true,
	"GetConsoleMode:kernel32.dll":              true,
	"GetCurrentThreadId:kernel32.dll":          true,
	"GetEnvironmentStringsW:kernel32.dll":      true,
	"GetErrorMode:kernel32.dll":                true, // Server 2008
	"GetProcAddress:kernel32.dll":              true,
	"GetProcessAffinityMask:kernel32.dll":      true,
	"GetQueuedCompletionStatusEx:kernel32.dll": true, // Server 2008
	"GetStdHandle:kernel32.dll":                true,
	"GetSystemDirectoryA:kernel32.dll":         true,
	"GetSystemInfo:kernel32.dll":               true,
	"GetThreadContext:kernel32.dll":            true,
	"LoadLibraryExW:kernel32.dll":              true,
	"PostQueuedCompletionStatus:kernel32.dll":  true,
	"QueryPerformanceCounter:kernel32.dll":     true,
	"RaiseFailFastException:kernel32.dll":      true, // Server 2008 R2
	"ResumeThread:kernel32.dll":                true,
	"RtlLookupFunctionEntry:kernel32.dll":      true,
	"RtlVirtualUnwind:kernel32.dll":            true,
	"SetConsoleCtrlHandler:kernel32.dll":       true,
	"SetErrorMode:kernel32.dll":                true,
	"SetEvent:kernel32.dll":                    true,
	"SetProcessPriorityBoost:kernel32.dll":     true,
	"SetThreadContext:kernel32.dll":            true,
	"SetThreadPriority:kernel32.dll":           true,
	"SetWaitableTimer:kernel32.dll":            true,
	"SuspendThread:kernel32.dll":               true,
	"SwitchToThread:kernel32.dll":              true,
	"TlsAlloc:kernel32.dll":                    true,
	"VirtualAlloc:kernel32.dll":                true,
	"VirtualFree:kernel32.dll":                 true,
	"VirtualQuery:kernel32.dll":                true,
	"WaitForMultipleObjects:kernel32.dll":      true,
	"WaitForSingleObject:kernel32.dll":         true,
	"WerGetFlags:kernel32.dll":                 true, // Server 2008
	"WerSetFlags:kernel32.dll":                 true, // Server 2008
	"WriteConsoleW:kernel32.dll":               true,
	"WriteFile:kernel32.dll":                   true,
}

// TestReleaseBinaryLoadsOnServer2012: the Windows binary README tells Lync
// Server 2013 admins to run (`GOOS=windows GOARCH=amd64 go build`) declares
// in its PE header a minimum Windows no newer than Windows Server 2012
// (NT 6.2; 2012 R2 is 6.3), and imports only functions that exist there.
// Windows refuses to start an executable whose header asks for a newer
// system, which is what Go 1.27 does (10.0): building with it would cut off
// every Lync Server 2013 and Skype for Business Server 2015 on 2012 R2
// without any test noticing.
func TestReleaseBinaryLoadsOnServer2012(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		// Under Wine there is no Go toolchain; the Linux run guards this.
		t.Skip("no go toolchain here:", err)
	}
	exe := filepath.Join(t.TempDir(), "lyncbackup.exe")
	cmd := exec.Command(goBin, "build", "-o", exe, ".")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=windows go build: %v\n%s", err, out)
	}
	f, err := pe.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("not a 64-bit PE: %T", f.OptionalHeader)
	}
	const major, minor = 6, 2 // Windows Server 2012
	for _, v := range []struct {
		what         string
		major, minor uint16
	}{
		{"operating system", oh.MajorOperatingSystemVersion, oh.MinorOperatingSystemVersion},
		{"subsystem", oh.MajorSubsystemVersion, oh.MinorSubsystemVersion},
	} {
		if v.major > major || v.major == major && v.minor > minor {
			t.Errorf("the PE header's minimum %s version is %d.%d, newer than Windows Server 2012 (%d.%d): "+
				"Windows refuses to start it on the servers Lync Server 2013 runs on; build with Go 1.26 (GOTOOLCHAIN=go1.26.8)",
				v.what, v.major, v.minor, major, minor)
		}
	}
	syms, err := f.ImportedSymbols()
	if err != nil {
		t.Fatal(err)
	}
	var unknown []string
	for _, s := range syms {
		if !server2012Imports[s] {
			unknown = append(unknown, s)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("lyncbackup.exe now imports %s: check each against Microsoft's minimum supported server "+
			"(Windows Server 2012 or older) and add it to server2012Imports", strings.Join(unknown, ", "))
	}
	if len(syms) == 0 {
		t.Error("no imported functions read: the check above checked nothing")
	}
}
