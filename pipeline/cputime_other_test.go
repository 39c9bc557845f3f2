//go:build !unix

package pipeline

import "time"

// cpuTime is not measured here (0: the benchmark reports no CPU time).
func cpuTime() time.Duration { return 0 }
