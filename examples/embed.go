// Package examples ships the demo config and sample tree inside the binary,
// so `lyncbackup demo` works from anywhere with nothing but the binary.
package examples

import "embed"

// DemoConfig is examples/demo.yaml.
//
//go:embed demo.yaml
var DemoConfig []byte

// Sample is the sample tree the demo backs up.
//
//go:embed all:sample
var Sample embed.FS
