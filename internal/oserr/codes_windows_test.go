//go:build windows

package oserr

import (
	"errors"
	"io/fs"
	"testing"

	"golang.org/x/sys/windows"
)

const (
	codeDenied   = windows.ERROR_ACCESS_DENIED
	codeMissing  = windows.ERROR_FILE_NOT_FOUND
	codeReadOnly = windows.ERROR_WRITE_PROTECT
	codeFull     = windows.ERROR_DISK_FULL
)

// TestNetPathDownIsNotMissing: a share whose server is away
// (ERROR_BAD_NETPATH, which Go counts as not existing) is not a missing
// folder; ERROR_PATH_NOT_FOUND is.
func TestNetPathDownIsNotMissing(t *testing.T) {
	down := wrapped(localized{"Der Netzwerkpfad wurde nicht gefunden.", windows.ERROR_BAD_NETPATH})
	if !errors.Is(down, fs.ErrNotExist) {
		t.Log("Go no longer counts ERROR_BAD_NETPATH as not existing: Missing's exception can go")
	}
	if Missing(down) || !NetPathDown(down) {
		t.Errorf("an unreachable share: Missing %v, NetPathDown %v", Missing(down), NetPathDown(down))
	}
	if path := wrapped(localized{"Le chemin d'accès spécifié est introuvable.", windows.ERROR_PATH_NOT_FOUND}); !Missing(path) {
		t.Error("ERROR_PATH_NOT_FOUND is not missing")
	}
}

// TestHeld: a file another process holds open (a sharing or lock
// violation) is held, not denied: the fix is to wait or close that
// program, not to grant rights.
func TestHeld(t *testing.T) {
	for _, code := range []windows.Errno{windows.ERROR_SHARING_VIOLATION, windows.ERROR_LOCK_VIOLATION} {
		err := wrapped(localized{"Der Prozess kann nicht auf die Datei zugreifen.", code})
		if !Held(err) || Denied(err) || Missing(err) {
			t.Errorf("%d: Held %v Denied %v Missing %v", code, Held(err), Denied(err), Missing(err))
		}
	}
	if Held(wrapped(localized{"Zugriff verweigert", codeDenied})) {
		t.Error("access denied is held")
	}
}
