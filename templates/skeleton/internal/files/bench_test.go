package files_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage/storagetest"
)

// peakHeap samples the live heap every millisecond until stop is called,
// which returns the highest sample in megabytes.
func peakHeap() (stop func() float64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	done := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak) / (1 << 20)
	}
}

// pattern is an endless plain text.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "0123456789abcdef"[i%16]
	}
	return len(p), nil
}

// textOf is size bytes of plain text, made as they are read: the input
// takes no memory, so the peak measured is the upload's own.
func textOf(size int) io.Reader { return io.LimitReader(pattern{}, int64(size)) }

// BenchmarkUploadDownload: a plain-text file of 5 and 50 MB through the
// whole upload (spool, sniff, checksum, store, record) and back, on both
// backends; MB/s is the upload's throughput, and peak-heap-MB the live
// heap at its highest while uploading: bounded, the same for both sizes.
func BenchmarkUploadDownload(b *testing.B) {
	s3 := storage.NewS3(storagetest.StartS3(b))
	for _, size := range []int{5 << 20, 50 << 20} {
		for name, store := range map[string]storage.Store{"local": localStore(b), "s3": s3} {
			b.Run(fmt.Sprintf("upload/%s/%dMB", name, size>>20), func(b *testing.B) {
				r := newRig(b, database.SQLite, store, files.Limits{MaxUploadBytes: 64 << 20, QuotaBytes: 1 << 40})
				b.SetBytes(int64(size))
				stop := peakHeap()
				for b.Loop() {
					if _, err := r.svc.Upload(context.Background(), r.user, "big.txt", "", textOf(size)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(stop(), "peak-heap-MB")
			})
			b.Run(fmt.Sprintf("download/%s/%dMB", name, size>>20), func(b *testing.B) {
				r := newRig(b, database.SQLite, store, files.Limits{MaxUploadBytes: 64 << 20, QuotaBytes: 1 << 40})
				f, err := r.svc.Upload(context.Background(), r.user, "big.txt", "", textOf(size))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				for b.Loop() {
					rc, err := r.svc.Open(context.Background(), f)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, rc); err != nil {
						b.Fatal(err)
					}
					rc.Close()
				}
			})
		}
	}
}

// png16Of is a w × h 16-bit PNG: it decodes to 8 bytes a pixel.
func png16Of(b *testing.B, w, h int) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewNRGBA64(image.Rect(0, 0, w, h))); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkConcurrentImageUploads: four uploads at once of a 16-bit PNG
// of 25 megapixels, 200 MB decoded each. peak-heap-MB is the live heap at
// its highest: the decode budget (320 MB) admits one such image at a
// time, held until its encoding is written.
func BenchmarkConcurrentImageUploads(b *testing.B) {
	img := png16Of(b, 5000, 5000)
	r := newRig(b, database.SQLite, localStore(b), files.Limits{MaxUploadBytes: 64 << 20, QuotaBytes: 1 << 40})
	stop := peakHeap()
	for b.Loop() {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := r.svc.Upload(context.Background(), r.user, "deep.png", "", bytes.NewReader(img)); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(stop(), "peak-heap-MB")
}
