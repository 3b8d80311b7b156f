package appbuild

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	_, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to compile the test app")
	root := t.TempDir()
	require.NoError(t, os.CopyFS(root, os.DirFS("../testdata/tiny")))
	os.WriteFile(filepath.Join(root, "Dockerfile"), []byte("FROM scratch\nCOPY build/app /app\n"), 0o644)
	e := &failingExport{}
	b := &Builder{Engine: e, Root: root, Name: "tiny"}
	res, err := b.Build(context.Background(), Options{})
	require.NoError(t, err, "build")
	want := [][]string{{"tiny-app:base"}, {res.Image, "tiny-app:latest"}}
	require.True(t, res.Built, "the fallback build reused an image")
	require.Equal(t, want, e.builds, "builds")
	log, _ := os.ReadFile(res.LogPath)
	assert.Contains(t, string(log), "export refused", "the build log does not say why the whole Dockerfile was built")
	assert.Contains(t, string(log), "building the whole Dockerfile instead", "the build log does not say why the whole Dockerfile was built")
}
