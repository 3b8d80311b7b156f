package appbuild

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quickscale/quickscale/internal/docker"
)

// failingExport is an engine whose image export fails; it records the
// builds asked of it. Only what Build uses is implemented.
type failingExport struct {
	docker.Engine
	builds [][]string // the tags of each build
}

func (e *failingExport) Info() docker.Info                                          { return docker.Info{Arch: "amd64"} }
func (e *failingExport) ImageExists(context.Context, string) (bool, error)          { return false, nil }
func (e *failingExport) ImageSize(context.Context, string) (int64, error)           { return 4096, nil }
func (e *failingExport) PruneImages(context.Context, string, int) ([]string, error) { return nil, nil }
func (e *failingExport) SaveImage(context.Context, string, io.Writer) error {
	return errors.New("export refused")
}
func (e *failingExport) LoadImage(context.Context, io.Reader, io.Writer) error {
	return errors.New("nothing to load")
}
func (e *failingExport) BuildImage(_ context.Context, req docker.ImageBuild) error {
	_, err := io.Copy(io.Discard, req.Context)
	e.builds = append(e.builds, req.Tags)
	return err
}

// When the quick way fails, the build falls back to the whole Dockerfile
// instead of failing: both make the same image.
func TestBuildFallsBackToTheWholeDockerfile(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to compile the test app")
	}
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("../testdata/tiny")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "Dockerfile"), []byte("FROM scratch\nCOPY build/app /app\n"), 0o644)
	e := &failingExport{}
	b := &Builder{Engine: e, Root: root, Name: "tiny"}
	res, err := b.Build(context.Background(), Options{})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	want := [][]string{{"tiny-app:base"}, {res.Image, "tiny-app:latest"}}
	if !res.Built || !slices.EqualFunc(e.builds, want, slices.Equal) {
		t.Fatalf("built=%v builds %v, want %v", res.Built, e.builds, want)
	}
	log, _ := os.ReadFile(res.LogPath)
	if !strings.Contains(string(log), "export refused") || !strings.Contains(string(log), "building the whole Dockerfile instead") {
		t.Errorf("the build log does not say why the whole Dockerfile was built:\n%s", log)
	}
}
