package shellquote

import "testing"

// TestFor: a printed command's values are quoted for the shell it is
// pasted into: PowerShell / cmd double quotes for an ordinary Windows
// path with a space, PowerShell single quotes where double quotes would
// expand; POSIX single quotes elsewhere; safe values bare, and a glob
// pattern never bare (the shell would expand it).
func TestFor(t *testing.T) {
	for _, c := range []struct{ goos, in, want string }{
		{"linux", "/srv/restore", "/srv/restore"},
		{"linux", "/srv/restore dir", "'/srv/restore dir'"},
		{"linux", "it's", `'it'\''s'`},
		{"linux", `C:\x`, `'C:\x'`},
		{"linux", "", "''"},
		{"linux", "file:///srv/backups", "file:///srv/backups"},
		{"linux", "*/meetings/*.pptx", "'*/meetings/*.pptx'"},
		{"linux", "a/[ab]?", "'a/[ab]?'"},
		{"linux", "/etc/lyncbackup/100%.yaml", "/etc/lyncbackup/100%.yaml"},
		{"linux", "backup@fe01,x", "backup@fe01,x"},
		{"linux", "a b%", "'a b%'"},
		{"windows", "backup@fe01,x", `"backup@fe01,x"`},
		{"windows", "100%.yaml", `'100%.yaml'`},
		{"windows", `D:\Restore`, `D:\Restore`},
		{"windows", `D:\Lync Restore`, `"D:\Lync Restore"`},
		{"windows", `\\nas\C$\Restore`, `'\\nas\C$\Restore'`},
		{"windows", `D:\it's 100%`, `'D:\it''s 100%'`},
		{"windows", "it\u2019s $x", "'it\u2019\u2019s $x'"},
		{"windows", "*/meetings/*.pptx", `"*/meetings/*.pptx"`},
		{"windows", "s3://b/p?endpoint=https://s3.local&path_style=true", `"s3://b/p?endpoint=https://s3.local&path_style=true"`},
	} {
		if got := For(c.goos, c.in); got != c.want {
			t.Errorf("%s %q: %s, want %s", c.goos, c.in, got, c.want)
		}
	}
}
