package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"
)

// TestVolumeSerialIsTheVolumes: volumeSerial, through which a restore
// refuses an item folder that is another volume mounted into the folder,
// reads the serial number of the volume holding the path as
// GetVolumeInformation reports it for that volume's root, for a folder and
// for every drive there is; a folder and its subfolder are one volume, and
// two drives are two exactly when their serials differ. A path that does
// not exist is an error, never a volume (otherFilesystem: false).
func TestVolumeSerialIsTheVolumes(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "item")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	infoSerial := func(p string) uint32 {
		t.Helper()
		root := make([]uint16, windows.MAX_PATH+1)
		if err := windows.GetVolumePathName(windows.StringToUTF16Ptr(p), &root[0], uint32(len(root))); err != nil {
			t.Fatalf("GetVolumePathName(%s): %v", p, err)
		}
		var serial uint32
		if err := windows.GetVolumeInformation(&root[0], nil, 0, &serial, nil, nil, nil, 0); err != nil {
			t.Fatalf("GetVolumeInformation(%s): %v", windows.UTF16ToString(root), err)
		}
		return serial
	}
	drives := map[string]uint32{}
	for _, p := range []string{dir, sub} {
		got, err := volumeSerial(p)
		if err != nil {
			t.Fatalf("volumeSerial(%s): %v", p, err)
		}
		if want := infoSerial(p); got != want {
			t.Errorf("volumeSerial(%s) = %08x, GetVolumeInformation says %08x", p, got, want)
		}
	}
	mask, err := windows.GetLogicalDrives()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 26; i++ {
		root := string(rune('A'+i)) + `:\`
		if mask&(1<<i) == 0 || windows.GetDriveType(windows.StringToUTF16Ptr(root)) != windows.DRIVE_FIXED {
			continue
		}
		got, err := volumeSerial(root)
		if err != nil {
			t.Logf("%s: %v", root, err)
			continue
		}
		if want := infoSerial(root); got != want {
			t.Errorf("volumeSerial(%s) = %08x, GetVolumeInformation says %08x", root, got, want)
		}
		drives[root] = got
		t.Logf("%s: volume %08x", root, got)
	}
	t.Logf("%s: volume %08x", dir, infoSerial(dir))
	if otherFilesystem(dir, sub) {
		t.Errorf("%s and its folder item are on two volumes", dir)
	}
	for root, serial := range drives {
		if got, want := otherFilesystem(dir, root), serial != infoSerial(dir); got != want {
			t.Errorf("otherFilesystem(%s, %s) = %v, want %v", dir, root, got, want)
		}
	}
	if _, err := volumeSerial(filepath.Join(dir, "absent")); err == nil {
		t.Error("volumeSerial of a path that does not exist: no error")
	}
	if otherFilesystem(dir, filepath.Join(dir, "absent")) {
		t.Error("a folder that does not exist is another volume")
	}
}
