// Package devreload is the development edit loop of the templates and
// static files: it watches their directories on disk, has the application
// read them again when one changes, and tells the open pages to reload
// (GET /dev/reload, a stream of server-sent events). Production never
// builds a Watcher: configuration refuses SOURCE_DIR there.
package devreload

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/static"
)

// Interval is how often the directories are looked at. A look stats the
// files only (about a hundred), so a change shows within this much.
const Interval = 50 * time.Millisecond

// Watcher reloads the application's files when they change on disk.
type Watcher struct {
	dirs   []fs.FS
	reload func() error
	logger *slog.Logger

	mu         sync.Mutex
	stamp      string
	generation int64
	problem    string
	// changed is closed, and replaced, at every reload or failure.
	changed chan struct{}
}

// New watches dirs; reload reads them again and fails, keeping what was
// loaded before, when something does not parse.
func New(logger *slog.Logger, reload func() error, dirs ...fs.FS) *Watcher {
	w := &Watcher{dirs: dirs, reload: reload, logger: logger, changed: make(chan struct{})}
	w.stamp, _ = w.look()
	return w
}

// Run looks for changes every Interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Check()
		}
	}
}

// Check reloads if a file was added, removed or changed since the last
// look, and tells the open pages.
func (w *Watcher) Check() {
	stamp, err := w.look()
	if err != nil {
		w.logger.Warn("development reload: cannot read the source directories", "err", err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if stamp == w.stamp {
		return
	}
	w.stamp = stamp
	if err := w.reload(); err != nil {
		w.problem = err.Error()
		w.logger.Error("development reload: the change does not load; pages keep the version before", "err", err)
	} else {
		w.problem = ""
		w.generation++
		w.logger.Info("development reload: templates and static files reloaded", "generation", w.generation)
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// look is the names, sizes and modification times of every file: any
// edit, even one that keeps the size, moves a time.
func (w *Watcher) look() (string, error) {
	var stamp []byte
	for i, dir := range w.dirs {
		err := fs.WalkDir(dir, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			stamp = fmt.Appendf(stamp, "%d/%s %d %d\n", i, name, info.Size(), info.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return string(stamp), nil
}

// state is the generation now, the problem of the last look (empty when
// it loaded) and what is closed at the next change.
func (w *Watcher) state() (int64, string, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.generation, w.problem, w.changed
}

// Handler serves GET /dev/reload?since=GENERATION: a stream of events, a
// "reload" as soon as the files are newer than the page's generation and a
// "problem" with the error when a change does not load. The browser's
// EventSource reconnects by itself when the stream ends (the server's
// write timeout, a restart).
func (w *Watcher) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		since, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		if err != nil {
			http.Error(rw, "since must be the page's generation, a number", http.StatusBadRequest)
			return
		}
		h := rw.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		rc := http.NewResponseController(rw)
		send := func(event, data string) bool {
			// An event's data ends at a newline: an error's lines are
			// joined.
			data = strings.ReplaceAll(data, "\n", " ")
			if _, err := fmt.Fprintf(rw, "event: %s\ndata: %s\n\n", event, data); err != nil {
				return false
			}
			return rc.Flush() == nil
		}
		if !send("hello", strconv.FormatInt(since, 10)) {
			return
		}
		shown := ""
		for {
			generation, problem, changed := w.state()
			switch {
			case generation != since:
				send("reload", strconv.FormatInt(generation, 10))
				return
			case problem != shown:
				if !send("problem", problem) {
					return
				}
				shown = problem
			}
			select {
			case <-r.Context().Done():
				return
			case <-changed:
			}
		}
	})
}

// Live loads the static files and the templates of the project in dir
// (SOURCE_DIR) and watches them: a change reloads both, the files first,
// since the templates quote the files' hashed names.
func Live(logger *slog.Logger, appName string, clk clock.Clock, dir string) (*static.Assets, *views.Renderer, *Watcher, error) {
	templates := os.DirFS(filepath.Join(dir, config.SourceDirs[0]))
	files := os.DirFS(filepath.Join(dir, config.SourceDirs[1]))
	assets, err := static.Load(files)
	if err != nil {
		return nil, nil, nil, err
	}
	renderer, err := views.NewLive(appName, assets, clk, templates)
	if err != nil {
		return nil, nil, nil, err
	}
	w := New(logger, func() error {
		if err := assets.Reload(files); err != nil {
			return err
		}
		return renderer.Reload(templates)
	}, templates, files)
	return assets, renderer, w, nil
}
