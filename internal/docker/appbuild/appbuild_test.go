package appbuild

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestContentHashChangesWithEachInput(t *testing.T) {
	bin, other := []byte{1, 2, 3}, []byte{1, 2, 4}
	df := []byte("FROM scratch\n")
	base := ContentHash(bin, df)
	if base != ContentHash(bin, df) {
		t.Fatal("ContentHash is not deterministic")
	}
	if base == ContentHash(other, df) {
		t.Error("a different binary gave the same hash")
	}
	if base == ContentHash(bin, []byte("FROM scratch\nUSER 1\n")) {
		t.Error("a different Dockerfile gave the same hash")
	}
}

func TestWriteContextLayout(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	if err := os.WriteFile(bin, []byte("binary bytes"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteContext(&buf, []byte("FROM scratch\n"), bin); err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
		b, _ := io.ReadAll(tr)
		contents[h.Name] = string(b)
	}
	if contents["Dockerfile"] != "FROM scratch\n" || contents[ContextBinary] != "binary bytes" {
		t.Errorf("context files: %q", contents)
	}
	if h := got[ContextBinary]; h == nil || h.Mode != 0o755 {
		t.Errorf("binary header %+v, want mode 0755", h)
	}
	if h := got[ContextRootFS+"/tmp/"]; h == nil || h.Mode != 0o1777 || h.Typeflag != tar.TypeDir {
		t.Errorf("tmp header %+v, want a directory with mode 1777", h)
	}
	if h := got[ContextRootFS+"/data/"]; h == nil || h.Typeflag != tar.TypeDir {
		t.Errorf("data header %+v, want a directory", h)
	}
	for name, h := range got {
		if !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s has time %v: contexts must not differ by time stamps", name, h.ModTime)
		}
	}
}

func TestFirstErrorsPicksCompilerLines(t *testing.T) {
	out := `# example.com/app/internal/web
internal/web/handlers.go:12:2: undefined: frobnicate
internal/web/handlers.go:20:9: cannot use x (variable of type int) as string value
note: module requires Go 1.27.3
`
	got := firstErrors(out, 10)
	want := []string{"internal/web/handlers.go:12:2: undefined: frobnicate", "internal/web/handlers.go:20:9: cannot use x (variable of type int) as string value"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("firstErrors = %q, want %q", got, want)
	}
	if got := firstErrors(out, 1); len(got) != 1 {
		t.Errorf("firstErrors(max 1) returned %d lines", len(got))
	}
	modErr := "go: example.com/app: missing go.sum entry\n"
	if got := firstErrors(modErr, 10); len(got) != 1 || got[0] != strings.TrimSpace(modErr) {
		t.Errorf("without compiler lines firstErrors = %q, want the output's last lines", got)
	}
}

func TestLatestLogPicksNewest(t *testing.T) {
	root := t.TempDir()
	if _, err := LatestLog(root); err == nil || !strings.Contains(err.Error(), "quickscale build") {
		t.Errorf("LatestLog without logs = %v, want advice to build", err)
	}
	dir := LogDir(root)
	os.MkdirAll(dir, 0o755)
	for _, n := range []string{"build-20261125T100000.000Z.log", "build-20261125T120000.000Z.log", "build-20261125T110000.000Z.log"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	got, err := LatestLog(root)
	if err != nil || filepath.Base(got) != "build-20261125T120000.000Z.log" {
		t.Errorf("LatestLog = %s, %v", got, err)
	}
	pruneLogs(dir, 1)
	left, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(left) != 1 || filepath.Base(left[0]) != "build-20261125T120000.000Z.log" {
		t.Errorf("pruneLogs kept %v, want only the newest", left)
	}
}
