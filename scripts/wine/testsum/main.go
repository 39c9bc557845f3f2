// Command testsum reads `go test -json` on stdin and prints what a person
// needs from a long CI run: each package's result line, the whole output of
// every failed test, and the number of tests (subtests included) that
// passed, failed and were skipped. With -o it also keeps the raw stream.
// It exits 1 when a test or package failed, or when the stream has no test.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Output     string
}

func main() {
	raw := flag.String("o", "", "also write the raw -json stream to this file")
	flag.Parse()
	var keep io.Writer = io.Discard
	if *raw != "" {
		f, err := os.Create(*raw)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsum:", err)
			os.Exit(1)
		}
		defer f.Close()
		keep = f
	}
	out := map[string]*strings.Builder{} // package/test → its output so far
	pkgOut := map[string]*strings.Builder{}
	counts := map[string]int{}
	var failedPkgs []string
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		fmt.Fprintf(keep, "%s\n", line)
		var e event
		if json.Unmarshal(line, &e) != nil {
			fmt.Println(string(line)) // build errors and the like
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "build-output":
			fmt.Print(e.Output)
		case "build-fail":
			failedPkgs = append(failedPkgs, e.ImportPath+" (build)")
		case "output":
			b := out[key]
			if e.Test == "" {
				b = pkgOut[e.Package]
			}
			if b == nil {
				b = &strings.Builder{}
				if e.Test == "" {
					pkgOut[e.Package] = b
				} else {
					out[key] = b
				}
			}
			if b.Len() < 1<<20 {
				b.WriteString(e.Output)
			}
		case "pass", "skip", "fail":
			if e.Test != "" {
				counts[e.Action]++
				if e.Action == "fail" {
					fmt.Printf("--- FAIL %s %s\n%s", e.Package, e.Test, out[key])
				}
				delete(out, key)
				continue
			}
			if e.Action == "fail" {
				failedPkgs = append(failedPkgs, e.Package)
				// Tests of the package that never ended: the ones running
				// when it died (a -timeout panic is in their output).
				var open []string
				for k := range out {
					if pkg, test, _ := strings.Cut(k, "\x00"); pkg == e.Package {
						open = append(open, test)
					}
				}
				sort.Strings(open)
				for _, test := range open {
					k := e.Package + "\x00" + test
					fmt.Printf("--- UNFINISHED %s %s\n%s", e.Package, test, tail(out[k].String(), 200))
					delete(out, k)
				}
				if b := pkgOut[e.Package]; b != nil {
					fmt.Print(b.String())
				} else {
					fmt.Printf("FAIL\t%s\n", e.Package)
				}
			} else if b := pkgOut[e.Package]; b != nil {
				// the "ok  pkg 1.2s" line (and nothing else a passing package printed)
				for _, l := range strings.Split(b.String(), "\n") {
					if strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "?") {
						fmt.Println(l)
					}
				}
			}
			delete(pkgOut, e.Package)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(1)
	}
	fmt.Printf("== tests: %d passed, %d failed, %d skipped; packages failed: %d %v\n",
		counts["pass"], counts["fail"], counts["skip"], len(failedPkgs), failedPkgs)
	if counts["fail"] > 0 || len(failedPkgs) > 0 || counts["pass"] == 0 {
		os.Exit(1)
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
