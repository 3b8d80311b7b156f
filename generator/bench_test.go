//go:build unix

package generator

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time this process has used, user and system. Reported
// beside ns/op, it shows the generator's own cost on a machine whose wall
// clock is shared with other work.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func BenchmarkRender(b *testing.B) {
	start := cpuTime(b)
	for b.Loop() {
		if _, err := Render(goldenOptions("postgres")); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

func BenchmarkRenderAndWrite(b *testing.B) {
	parent := b.TempDir()
	i := 0
	start := cpuTime(b)
	for b.Loop() {
		files, err := Render(goldenOptions("postgres"))
		if err != nil {
			b.Fatal(err)
		}
		i++
		if err := Write(b.Context(), files, filepath.Join(parent, fmt.Sprint("app-", i))); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}
