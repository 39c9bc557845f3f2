package archive

import (
	"strings"
	"testing"
)

func TestIncluder(t *testing.T) {
	in, err := Includer([]string{"FileStore/1-WebServices-1", `*\meetings\*.pptx`, "/top.txt/"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"FileStore/1-WebServices-1":         true,
		"FileStore/1-WebServices-1/a/b.txt": true, // below a chosen folder
		"FileStore/1-WebServices-10/x":      false,
		"FileStore":                         false,
		"x/meetings/deck.pptx":              true,
		"x/meetings/deck.docx":              false,
		"x/y/meetings/deck.pptx":            false, // * is one path element
		"top.txt":                           true,
		"filestore/1-webservices-1/a":       false, // case counts off Windows
	} {
		if got := in(name); got != want {
			t.Errorf("%q: %v, want %v", name, got, want)
		}
	}
	fold, _ := Includer([]string{"FileStore/1-WebServices-1"}, true)
	if !fold("filestore/1-webservices-1/a") {
		t.Error("fold: no match without case")
	}
	for _, bad := range []string{"", "/", "a/[b"} {
		if _, err := Includer([]string{bad}, false); err == nil || !strings.Contains(err.Error(), "--include") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
