//go:build unix

package generator

import (
	"os"
	"sync"
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

// writeParent holds every project the benchmark writes, in one directory
// for the whole process, removed by TestMain at its end. Removing each
// round's projects between rounds (as b.TempDir would) makes the next
// round pay for it: on ext4 without a journal, creating a file scans past
// every inode freed in the last seconds.
var writeParent = sync.OnceValues(func() (string, error) {
	return os.MkdirTemp("", "quickscale-bench-")
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := writeParent(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func BenchmarkRenderAndWrite(b *testing.B) {
	parent, err := writeParent()
	if err != nil {
		b.Fatal(err)
	}
	start := cpuTime(b)
	for b.Loop() {
		files, err := Render(goldenOptions("postgres"))
		if err != nil {
			b.Fatal(err)
		}
		target, err := os.MkdirTemp(parent, "app-")
		if err != nil {
			b.Fatal(err)
		}
		if err := Write(b.Context(), files, target); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}
