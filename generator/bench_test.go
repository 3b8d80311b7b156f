//go:build unix

package generator

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cpuTime is the CPU time this process has used, user and system. Reported
// beside ns/op, it shows the generator's own cost on a machine whose wall
// clock is shared with other work.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func BenchmarkRender(b *testing.B) {
	start := cpuTime(b)
	for b.Loop() {
		_, err := Render(goldenOptions("postgres"))
		require.NoError(b, err)
	}
	reportCPU(b, start)
}

// writeParent holds every project the benchmark writes, in one directory
// for the whole process, removed by TestMain at its end. Removing each
// round's projects between rounds (as b.TempDir would) makes the next
// round pay for it: on ext4 without a journal, creating a file scans past
// every inode freed in the last seconds. Benchmarks run one at a time, so
// it needs no lock.
var writeParent string

func TestMain(m *testing.M) {
	code := m.Run()
	if writeParent != "" {
		os.RemoveAll(writeParent)
	}
	os.Exit(code)
}

func BenchmarkRenderAndWrite(b *testing.B) {
	if writeParent == "" {
		dir, err := os.MkdirTemp("", "quickscale-bench-")
		require.NoError(b, err)
		writeParent = dir
	}
	start := cpuTime(b)
	for b.Loop() {
		files, err := Render(goldenOptions("postgres"))
		require.NoError(b, err)
		target, err := os.MkdirTemp(writeParent, "app-")
		require.NoError(b, err)
		require.NoError(b, Write(b.Context(), files, target))
	}
	reportCPU(b, start)
}
