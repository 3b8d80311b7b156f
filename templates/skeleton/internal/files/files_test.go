package files_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files/filestest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage/storagetest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// rig is a files service on a real database and a real store, with its
// temporary directory watched.
type rig struct {
	svc   *files.Service
	db    *database.DB
	store storage.Store
	clock *clock.Fake
	jobs  *jobs.Queue
	temp  string
	user  string
}

func newRig(t testing.TB, dialect database.Dialect, store storage.Store, limits files.Limits) *rig {
	t.Helper()
	db := dbtest.Open(t, dialect)
	r := &rig{db: db, store: store, clock: clock.NewFake(time.Now()), temp: t.TempDir(), user: dbtest.NewUser(t, db)}
	logger := slog.New(slog.DiscardHandler)
	r.jobs = jobs.New(db, logger, r.clock)
	r.svc = files.New(files.Options{DB: db, Store: store, Jobs: r.jobs, Clock: r.clock, Logger: logger, Limits: limits, TempDir: r.temp})
	r.svc.RegisterJobs(r.jobs)
	return r
}

func localStore(t testing.TB) storage.Store {
	t.Helper()
	st := storage.NewLocal(t.TempDir())
	t.Cleanup(func() { st.Close() })
	return st
}

var roomy = files.Limits{MaxUploadBytes: 10 << 20, QuotaBytes: 100 << 20}

// nothingLeft asserts that a refused upload left no temporary file, no
// object and no record.
func (r *rig) nothingLeft(t *testing.T) {
	t.Helper()
	temps, err := os.ReadDir(r.temp)
	require.NoError(t, err)
	assert.Empty(t, temps, "temporary files left")
	var objects []string
	require.NoError(t, r.store.Walk(context.Background(), "", func(i storage.Info) error {
		objects = append(objects, i.Key)
		return nil
	}))
	assert.Empty(t, objects, "objects left")
	var n int
	require.NoError(t, r.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM files").Scan(&n))
	assert.Zero(t, n, "records left")
}

func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, 0, color.NRGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func requireProblem(t *testing.T, err error, status int, says string) {
	t.Helper()
	var p *files.Problem
	require.ErrorAs(t, err, &p)
	assert.Equal(t, status, p.Status, p.Message)
	assert.Contains(t, p.Message, says)
}

func readStored(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	rc, _, err := st.Open(context.Background(), key)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// TestUploadReencodesImages: a PNG followed by HTML (a polyglot that
// sniffs as image/png) is stored re-encoded, the HTML gone, with the
// record's size, checksum and dimensions those of what was stored; on
// both databases and both backends. Row 67.
func TestUploadReencodesImages(t *testing.T) {
	s3 := storage.NewS3(storagetest.StartS3(t))
	for _, dialect := range dbtest.Dialects {
		for name, store := range map[string]storage.Store{"local": localStore(t), "s3": s3} {
			t.Run(string(dialect)+"/"+name, func(t *testing.T) {
				r := newRig(t, dialect, store, roomy)
				polyglot := append(pngOf(t, 30, 20), []byte("<html><script>alert(document.cookie)</script></html>")...)
				f, err := r.svc.Upload(context.Background(), r.user, "../../etc/photo\r\n.png", "Holiday", bytes.NewReader(polyglot))
				require.NoError(t, err)
				assert.Equal(t, "image/png", f.ContentType)
				assert.Equal(t, 30, f.Width)
				assert.Equal(t, 20, f.Height)
				assert.Equal(t, "photo.png", f.Name, "the name is a display name")
				assert.Equal(t, "Holiday", f.Folder)
				assert.Regexp(t, `^u/`+r.user+`/[a-z2-7]{26}$`, f.Key, "a server-made key")

				stored := readStored(t, store, f.Key)
				assert.NotContains(t, string(stored), "<script>", "the appended HTML was stored")
				assert.Equal(t, int64(len(stored)), f.Size)
				_, err = png.Decode(bytes.NewReader(stored))
				require.NoError(t, err, "stored a PNG")

				got, err := r.svc.Get(context.Background(), r.user, f.ID)
				require.NoError(t, err)
				assert.Equal(t, f.SHA256, got.SHA256)
				used, err := r.svc.Used(context.Background(), r.user)
				require.NoError(t, err)
				assert.Equal(t, f.Size, used)

				_, err = r.svc.Get(context.Background(), dbtest.NewUser(t, r.db), f.ID)
				assert.ErrorIs(t, err, files.ErrNotFound, "another user's file")
			})
		}
	}
}

// TestUploadRefusesWhatIsNotAllowed: types off the allowlist, an oversized
// body (through http.MaxBytesReader, as the handlers read it, and past the
// service's own limit), an empty one; each refused with a status and a
// message, leaving nothing behind. Rows 66 and 67.
func TestUploadRefusesWhatIsNotAllowed(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newRig(t, dialect, localStore(t), files.Limits{MaxUploadBytes: 4096, QuotaBytes: 1 << 20})
			ctx := context.Background()
			for name, body := range map[string][]byte{
				"html":       []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"),
				"svg":        []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
				"zip":        []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"),
				"executable": append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...),
			} {
				_, err := r.svc.Upload(ctx, r.user, name, "", bytes.NewReader(body))
				requireProblem(t, err, http.StatusUnsupportedMediaType, "cannot be uploaded")
			}
			r.nothingLeft(t)

			_, err := r.svc.Upload(ctx, r.user, "big.txt", "", bytes.NewReader(bytes.Repeat([]byte("a"), 4097)))
			requireProblem(t, err, http.StatusRequestEntityTooLarge, "larger than 4.0 KB")
			limited := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(bytes.Repeat([]byte("a"), 8000))), 2000)
			_, err = r.svc.Upload(ctx, r.user, "big.txt", "", limited)
			requireProblem(t, err, http.StatusRequestEntityTooLarge, "upload a smaller file")
			_, err = r.svc.Upload(ctx, r.user, "empty.txt", "", strings.NewReader(""))
			requireProblem(t, err, http.StatusBadRequest, "empty")
			_, err = r.svc.Upload(ctx, r.user, "broken.png", "", bytes.NewReader(pngOf(t, 10, 10)[:60]))
			requireProblem(t, err, http.StatusUnprocessableEntity, "could not be read")
			r.nothingLeft(t)
		})
	}
}

// TestDecompressionBombRefusedBeforeDecoding: a few dozen bytes claiming
// 50,000 × 50,000 pixels (10 GB decoded) are refused from the header,
// allocating next to nothing. Row 68.
func TestDecompressionBombRefusedBeforeDecoding(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newRig(t, dialect, localStore(t), roomy)
			for _, bomb := range [][]byte{filestest.BombPNG(50_000, 50_000), filestest.BombPNG(10_001, 10), filestest.BombPNG(8_000, 8_000)} {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				_, err := r.svc.Upload(context.Background(), r.user, "bomb.png", "", bytes.NewReader(bomb))
				runtime.ReadMemStats(&after)
				requireProblem(t, err, http.StatusUnprocessableEntity, "pixels")
				assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "allocated while refusing a bomb")
			}
			r.nothingLeft(t)
		})
	}
}

// TestReencodedImageHeldToTheLimit: a JPEG under the upload limit that
// grows past it once re-encoded (noise saved at quality 20, written anew
// at 90) is refused with the reason, and nothing is left of it. Row 66.
func TestReencodedImageHeldToTheLimit(t *testing.T) {
	noise := image.NewRGBA(image.Rect(0, 0, 256, 256))
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rnd.IntN(256))
	}
	var small bytes.Buffer
	require.NoError(t, jpeg.Encode(&small, noise, &jpeg.Options{Quality: 20}))
	const limit = 20 << 10
	require.Less(t, small.Len(), limit, "the input must fit the limit")
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newRig(t, dialect, localStore(t), files.Limits{MaxUploadBytes: limit, QuotaBytes: 1 << 20})
			_, err := r.svc.Upload(context.Background(), r.user, "noise.jpg", "", bytes.NewReader(small.Bytes()))
			requireProblem(t, err, http.StatusRequestEntityTooLarge, "once re-encoded")
			r.nothingLeft(t)
		})
	}
}

// TestQuota: uploads fill the quota and no further, even when they race;
// the refusal says what is used and what to do. Row 66.
func TestQuota(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			body := bytes.Repeat([]byte("plain text\n"), 100) // 1,100 bytes
			r := newRig(t, dialect, localStore(t), files.Limits{MaxUploadBytes: 2000, QuotaBytes: 5000})
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() {
					_, err := r.svc.Upload(context.Background(), r.user, "note.txt", "", bytes.NewReader(body))
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			stored := 0
			for err := range errs {
				if err == nil {
					stored++
					continue
				}
				requireProblem(t, err, http.StatusRequestEntityTooLarge, "does not fit in your storage")
			}
			assert.Equal(t, 4, stored, "4 files of 1,100 bytes fit in 5,000")
			used, err := r.svc.Used(context.Background(), r.user)
			require.NoError(t, err)
			assert.Equal(t, int64(4*len(body)), used)
			_, err = r.svc.Upload(context.Background(), r.user, "note.txt", "", bytes.NewReader(body))
			requireProblem(t, err, http.StatusRequestEntityTooLarge, "4.3 KB of 4.9 KB used. Delete files you no longer need")
			temps, err := os.ReadDir(r.temp)
			require.NoError(t, err)
			assert.Empty(t, temps, "temporary files left")
		})
	}
}

// TestDeleteUndoAndPurge: a deleted file vanishes, comes back within the
// undo window, and after it is purged with its contents, its bytes given
// back.
func TestDeleteUndoAndPurge(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, dialect, localStore(t), roomy)
			f, err := r.svc.Upload(ctx, r.user, "a.txt", "", strings.NewReader("some text"))
			require.NoError(t, err)
			other := dbtest.NewUser(t, r.db)
			assert.ErrorIs(t, r.svc.Delete(ctx, other, f.ID), files.ErrNotFound, "another user deletes")

			require.NoError(t, r.svc.Delete(ctx, r.user, f.ID))
			_, err = r.svc.Get(ctx, r.user, f.ID)
			assert.ErrorIs(t, err, files.ErrNotFound)
			assert.ErrorIs(t, r.svc.Restore(ctx, other, f.ID), files.ErrNotFound, "another user restores")
			require.NoError(t, r.svc.Restore(ctx, r.user, f.ID))
			_, err = r.svc.Get(ctx, r.user, f.ID)
			require.NoError(t, err, "restored")

			require.NoError(t, r.svc.Delete(ctx, r.user, f.ID))
			n, err := r.svc.Purge(ctx)
			require.NoError(t, err)
			assert.Zero(t, n, "purged within the undo window")
			r.clock.Advance(files.UndoWindow + time.Second)
			assert.ErrorIs(t, r.svc.Restore(ctx, r.user, f.ID), files.ErrNotFound, "restored after the window")
			n, err = r.svc.Purge(ctx)
			require.NoError(t, err)
			assert.Equal(t, 1, n)
			_, err = r.store.Stat(ctx, f.Key)
			assert.ErrorIs(t, err, storage.ErrNotFound, "contents kept")
			used, err := r.svc.Used(ctx, r.user)
			require.NoError(t, err)
			assert.Zero(t, used)
		})
	}
}

// TestPage: a page of a listing counts once and clamps the page asked
// for to the pages there are.
func TestPage(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, dialect, localStore(t), roomy)
			for i := range 5 {
				_, err := r.svc.Upload(ctx, r.user, fmt.Sprintf("%d.txt", i), "", strings.NewReader("words"))
				require.NoError(t, err)
			}
			_, err := r.svc.Upload(ctx, r.user, "other.txt", "Elsewhere", strings.NewReader("words"))
			require.NoError(t, err)
			byName := files.Query{Sort: "name"}
			for asked, want := range map[int]struct {
				number int
				names  []string
			}{
				0: {1, []string{"0.txt", "1.txt"}}, 2: {2, []string{"2.txt", "3.txt"}}, 3: {3, []string{"4.txt", "other.txt"}}, 99: {3, []string{"4.txt", "other.txt"}},
			} {
				p, err := r.svc.Page(ctx, r.user, byName, asked, 2)
				require.NoError(t, err)
				var names []string
				for _, f := range p.Files {
					names = append(names, f.Name)
				}
				assert.Equal(t, files.Page{Files: p.Files, Total: 6, Number: want.number, Pages: 3}, p, "page %d", asked)
				assert.Equal(t, want.names, names, "page %d", asked)
			}
			p, err := r.svc.Page(ctx, r.user, files.Query{Folder: "Elsewhere"}, 1, 2)
			require.NoError(t, err)
			assert.Equal(t, 1, p.Total, "the filter is counted")
		})
	}
}

// restoreOnDelete is a store that, when the purge deletes the contents of
// the file it watches, lets a restore land first: an instance whose clock
// is behind still sees the file within its undo window.
type restoreOnDelete struct {
	storage.Store
	key     string
	restore func()
}

func (s *restoreOnDelete) Delete(ctx context.Context, key string) error {
	if key == s.key {
		s.restore()
	}
	return s.Store.Delete(ctx, key)
}

// TestPurgeRacingARestore: a restore that lands while the purge runs
// either keeps the file whole or finds it gone; never a record without
// its contents.
func TestPurgeRacingARestore(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			watched := &restoreOnDelete{Store: localStore(t)}
			r := newRig(t, dialect, watched, roomy)
			f, err := r.svc.Upload(ctx, r.user, "a.txt", "", strings.NewReader("some text"))
			require.NoError(t, err)
			require.NoError(t, r.svc.Delete(ctx, r.user, f.ID))
			behind := clock.NewFake(r.clock.Now())
			lagging := files.New(files.Options{DB: r.db, Store: watched, Jobs: r.jobs, Clock: behind, Logger: slog.New(slog.DiscardHandler), Limits: roomy, TempDir: r.temp})
			restored := false
			watched.key, watched.restore = f.Key, func() { restored = lagging.Restore(ctx, r.user, f.ID) == nil }
			r.clock.Advance(files.UndoWindow + time.Second)

			_, err = r.svc.Purge(ctx)
			require.NoError(t, err)
			got, err := r.svc.Get(ctx, r.user, f.ID)
			_, statErr := r.store.Stat(ctx, f.Key)
			used, uerr := r.svc.Used(ctx, r.user)
			require.NoError(t, uerr)
			if restored {
				require.NoError(t, err, "restored, yet the record is gone")
				assert.NoError(t, statErr, "the restored file's contents were deleted")
				assert.Equal(t, got.Size, used)
			} else {
				assert.ErrorIs(t, err, files.ErrNotFound)
				assert.ErrorIs(t, statErr, storage.ErrNotFound, "contents kept")
				assert.Zero(t, used)
			}
		})
	}
}

// TestSweepOrphans: an object no record names, and a temporary file a
// crash left (the store's or the upload spool's), is removed once it is
// an hour old; recorded files stay.
func TestSweepOrphans(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			store := storage.NewLocal(dir)
			t.Cleanup(func() { store.Close() })
			r := newRig(t, dialect, store, roomy)
			f, err := r.svc.Upload(ctx, r.user, "a.txt", "", strings.NewReader("kept"))
			require.NoError(t, err)
			require.NoError(t, r.store.Put(ctx, "u/"+r.user+"/orphan", strings.NewReader("lost"), 4, "text/plain"))
			// What a crash leaves: a store write and an upload's spool file.
			leftovers := []string{filepath.Join(dir, ".tmp", "half-written"), filepath.Join(r.temp, "upload-123")}
			for _, name := range leftovers {
				require.NoError(t, os.WriteFile(name, []byte("half"), 0o600))
			}

			n, err := r.svc.SweepOrphans(ctx)
			require.NoError(t, err)
			assert.Zero(t, n, "a young object is swept")
			for _, name := range leftovers {
				assert.FileExists(t, name, "a young temporary file is swept: it may be an upload under way")
			}
			r.clock.Advance(2 * time.Hour)
			n, err = r.svc.SweepOrphans(ctx)
			require.NoError(t, err)
			assert.Equal(t, 1, n)
			for _, name := range leftovers {
				assert.NoFileExists(t, name, "a temporary file left by a crash is kept")
			}
			_, err = r.store.Stat(ctx, "u/"+r.user+"/orphan")
			assert.ErrorIs(t, err, storage.ErrNotFound)
			_, err = r.store.Stat(ctx, f.Key)
			assert.NoError(t, err, "a recorded file was swept")
		})
	}
}

// jpegWithOrientation is a w × h black JPEG, its top left 8 × 8 block
// white, whose EXIF says orientation o.
func jpegWithOrientation(t *testing.T, w, h int, o uint16) []byte {
	t.Helper()
	src := image.NewGray(image.Rect(0, 0, w, h))
	for y := range 8 {
		for x := range 8 {
			src.SetGray(x, y, color.Gray{Y: 255})
		}
	}
	var plain bytes.Buffer
	require.NoError(t, jpeg.Encode(&plain, src, &jpeg.Options{Quality: 100}))
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01") // big-endian, IFD0 at 8, one entry
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.BigEndian.AppendUint16(tiff, 3)
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, o)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // value padding, no next IFD
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8, 0xFF, 0xE1})
	_ = binary.Write(&b, binary.BigEndian, uint16(len(app1)+2))
	b.Write(app1)
	b.Write(plain.Bytes()[2:])
	return b.Bytes()
}

// TestUploadHonoursEXIFOrientation: a photo taken sideways is stored
// upright, without its EXIF block: for each orientation the sides are
// right and the photo's first pixel lands in the corner EXIF says. Row
// 67.
func TestUploadHonoursEXIFOrientation(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, database.SQLite, localStore(t), roomy)
	const w, h = 48, 24
	type corner struct{ right, bottom bool }
	for o, want := range map[uint16]struct {
		size   [2]int
		corner corner
	}{
		1: {[2]int{w, h}, corner{false, false}},
		2: {[2]int{w, h}, corner{true, false}},
		3: {[2]int{w, h}, corner{true, true}},
		4: {[2]int{w, h}, corner{false, true}},
		5: {[2]int{h, w}, corner{false, false}},
		6: {[2]int{h, w}, corner{true, false}},
		7: {[2]int{h, w}, corner{true, true}},
		8: {[2]int{h, w}, corner{false, true}},
	} {
		f, err := r.svc.Upload(ctx, r.user, "photo.jpg", "", bytes.NewReader(jpegWithOrientation(t, w, h, o)))
		require.NoError(t, err)
		assert.Equal(t, "image/jpeg", f.ContentType)
		assert.Equal(t, want.size, [2]int{f.Width, f.Height}, "orientation %d", o)
		stored := readStored(t, r.store, f.Key)
		assert.NotContains(t, string(stored), "Exif\x00\x00", "metadata kept")
		img, err := jpeg.Decode(bytes.NewReader(stored))
		require.NoError(t, err)
		b := img.Bounds()
		require.Equal(t, want.size, [2]int{b.Dx(), b.Dy()}, "stored orientation %d", o)
		for _, c := range []corner{{false, false}, {true, false}, {false, true}, {true, true}} {
			x, y := 3, 3
			if c.right {
				x = b.Dx() - 4
			}
			if c.bottom {
				y = b.Dy() - 4
			}
			lum := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
			if c == want.corner {
				assert.Greater(t, lum, uint8(200), "orientation %d: the first pixel is not in corner %+v", o, c)
			} else {
				assert.Less(t, lum, uint8(50), "orientation %d: corner %+v is lit", o, c)
			}
		}
	}
}

// TestCleanName: a name is for display only, and made harmless: no path,
// no control or invisible characters, valid UTF-8, bounded. Row 69.
func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":                  "report.pdf",
		"../../etc/passwd":            "passwd",
		`C:\Users\me\photo.jpg`:       "photo.jpg",
		"evil\r\nSet-Cookie: a=b.txt": "evilSet-Cookie: a=b.txt",
		`say "cheese".png`:            `say "cheese".png`,
		"bad\xff\xfeutf8.txt":         "bad\uFFFDutf8.txt",
		"nul\x00byte":                 "nulbyte",
		"   ":                         "file",
		"..":                          "file",
		"dir/":                        "file",
		strings.Repeat("é", 200):      strings.Repeat("é", 127),
		"  spaced name .txt  ":        "spaced name .txt",
		"\u202Egnp.exe":               "gnp.exe",
	} {
		got := files.CleanName(in)
		assert.Equal(t, want, got, "CleanName(%q)", in)
		assert.LessOrEqual(t, len(got), 255)
	}
}

// runJobs runs every due job.
func (r *rig) runJobs(t *testing.T) {
	t.Helper()
	for {
		ran, err := r.jobs.RunOnce(context.Background())
		require.NoError(t, err)
		if !ran {
			return
		}
	}
}

// TestThumbnails: each image gets a thumbnail on the job queue, at most
// 320 pixels a side in its proportions; other files get none.
func TestThumbnails(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, dialect, localStore(t), roomy)
			var photo bytes.Buffer
			require.NoError(t, jpeg.Encode(&photo, image.NewRGBA(image.Rect(0, 0, 1600, 1200)), nil))
			tall, err := r.svc.Upload(ctx, r.user, "tall.png", "", bytes.NewReader(pngOf(t, 500, 1000)))
			require.NoError(t, err)
			wide, err := r.svc.Upload(ctx, r.user, "wide.jpg", "", bytes.NewReader(photo.Bytes()))
			require.NoError(t, err)
			note, err := r.svc.Upload(ctx, r.user, "note.txt", "", strings.NewReader("no picture"))
			require.NoError(t, err)
			r.runJobs(t)

			for f, want := range map[string][2]int{tall.ID: {160, 320}, wide.ID: {320, 240}} {
				got, err := r.svc.Get(ctx, r.user, f)
				require.NoError(t, err)
				thumb, ok := files.Thumbnail(got)
				require.True(t, ok, "no thumbnail for %s", got.Name)
				cfg, _, err := image.DecodeConfig(bytes.NewReader(readStored(t, r.store, thumb.Key)))
				require.NoError(t, err)
				assert.Equal(t, want, [2]int{cfg.Width, cfg.Height}, got.Name)
			}
			got, err := r.svc.Get(ctx, r.user, note.ID)
			require.NoError(t, err)
			_, ok := files.Thumbnail(got)
			assert.False(t, ok, "a text file has a thumbnail")
		})
	}
}

// BenchmarkThumbnail12MP: the two-step scaling of a 4000 × 3000 photo to
// a thumbnail.
func BenchmarkThumbnail12MP(b *testing.B) {
	src := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 7)
	}
	for b.Loop() {
		files.Scale(src, files.ThumbnailSide)
	}
}

// TestDirectUpload: on S3 a client posts straight to the bucket with a
// form signed for one key, type and size; completing it looks at the
// object (HEAD) and then runs every check of an upload, so a polyglot
// posted directly is stored clean; the posted object is removed. Another
// user cannot complete it; on local disk there are no direct uploads.
// Rows 67 and 72.
func TestDirectUpload(t *testing.T) {
	s3 := storage.NewS3(storagetest.StartS3(t))
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, dialect, s3, files.Limits{MaxUploadBytes: 4096, QuotaBytes: 1 << 20})
			up, err := r.svc.BeginUpload(ctx, r.user, "photo.png", "Direct", "image/png")
			require.NoError(t, err)
			_, err = r.svc.CompleteUpload(ctx, r.user, up.ID)
			requireProblem(t, err, http.StatusConflict, "nothing was uploaded")

			polyglot := append(pngOf(t, 12, 9), []byte("<html><script>alert(1)</script></html>")...)
			status, body := storagetest.Post(t, up.URL, up.Fields, polyglot)
			require.Less(t, status, 300, body)
			_, err = r.svc.CompleteUpload(ctx, dbtest.NewUser(t, r.db), up.ID)
			assert.ErrorIs(t, err, files.ErrNotFound, "another user completes the upload")

			f, err := r.svc.CompleteUpload(ctx, r.user, up.ID)
			require.NoError(t, err)
			assert.Equal(t, "photo.png", f.Name)
			assert.Equal(t, "Direct", f.Folder)
			assert.Equal(t, [2]int{12, 9}, [2]int{f.Width, f.Height})
			assert.NotContains(t, string(readStored(t, s3, f.Key)), "<script>", "the appended HTML was kept")
			var left int
			require.NoError(t, r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM file_uploads").Scan(&left))
			assert.Zero(t, left, "the signed upload is kept")
			_, err = r.svc.CompleteUpload(ctx, r.user, up.ID)
			assert.ErrorIs(t, err, files.ErrNotFound, "completed twice")

			big, err := r.svc.BeginUpload(ctx, r.user, "big.png", "", "image/png")
			require.NoError(t, err)
			status, body = storagetest.Post(t, big.URL, big.Fields, bytes.Repeat([]byte("x"), 4097))
			assert.Equal(t, http.StatusBadRequest, status, "over the size signed for: %s", body)

			_, err = r.svc.BeginUpload(ctx, r.user, "page.html", "", "text/html")
			requireProblem(t, err, http.StatusUnsupportedMediaType, "cannot be uploaded")
			local := newRig(t, dialect, localStore(t), roomy)
			_, err = local.svc.BeginUpload(ctx, local.user, "a.png", "", "image/png")
			requireProblem(t, err, http.StatusConflict, "upload through POST /api/v1/files")
		})
	}
}
