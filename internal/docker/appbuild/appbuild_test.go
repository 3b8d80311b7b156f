package appbuild

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContentHashChangesWithEachInput(t *testing.T) {
	bin, other := []byte{1, 2, 3}, []byte{1, 2, 4}
	df := []byte("FROM scratch\n")
	base := ContentHash(bin, df)
	require.Equal(t, ContentHash(bin, df), base, "ContentHash is not deterministic")
	assert.NotEqual(t, ContentHash(other, df), base, "a different binary gave the same hash")
	assert.NotEqual(t, ContentHash(bin, []byte("FROM scratch\nUSER 1\n")), base, "a different Dockerfile gave the same hash")
}

func TestWriteContextLayout(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	require.NoError(t, os.WriteFile(bin, []byte("binary bytes"), 0o755))
	var buf bytes.Buffer
	require.NoError(t, WriteContext(&buf, []byte("FROM scratch\n"), bin))
	got := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got[h.Name] = h
		b, _ := io.ReadAll(tr)
		contents[h.Name] = string(b)
	}
	assert.Equal(t, "FROM scratch\n", contents["Dockerfile"], "context's Dockerfile")
	assert.Equal(t, "binary bytes", contents[ContextBinary], "context's binary")
	if h := got[ContextBinary]; assert.NotNil(t, h, "no binary header") {
		assert.Equal(t, int64(0o755), h.Mode, "binary header mode")
	}
	if h := got[ContextRootFS+"/tmp/"]; assert.NotNil(t, h, "no tmp header") {
		assert.Equal(t, int64(0o1777), h.Mode, "tmp header mode")
		assert.Equal(t, byte(tar.TypeDir), h.Typeflag, "tmp is not a directory")
	}
	if h := got[ContextRootFS+"/data/"]; assert.NotNil(t, h, "no data header") {
		assert.Equal(t, byte(tar.TypeDir), h.Typeflag, "data is not a directory")
	}
	for name, h := range got {
		assert.True(t, h.ModTime.Equal(time.Unix(0, 0)), "%s has time %v: contexts must not differ by time stamps", name, h.ModTime)
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
	assert.Equal(t, strings.Join(want, "\n"), strings.Join(got, "\n"), "firstErrors = %q, want %q", got, want)
	assert.Len(t, firstErrors(out, 1), 1, "firstErrors(max 1)")
	modErr := "go: example.com/app: missing go.sum entry\n"
	assert.Equal(t, []string{strings.TrimSpace(modErr)}, firstErrors(modErr, 10), "without compiler lines firstErrors must return the output's last lines")
}

func TestLatestLogPicksNewest(t *testing.T) {
	root := t.TempDir()
	_, err := LatestLog(root)
	if assert.Error(t, err, "LatestLog without logs") {
		assert.Contains(t, err.Error(), "quickscale build", "LatestLog without logs must advise to build")
	}
	dir := LogDir(root)
	os.MkdirAll(dir, 0o755)
	for _, n := range []string{"build-20261125T100000.000Z.log", "build-20261125T120000.000Z.log", "build-20261125T110000.000Z.log"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	got, err := LatestLog(root)
	assert.NoError(t, err, "LatestLog")
	assert.Equal(t, "build-20261125T120000.000Z.log", filepath.Base(got), "LatestLog")
	pruneLogs(dir, 1)
	left, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if assert.Len(t, left, 1, "pruneLogs kept %v, want only the newest", left) {
		assert.Equal(t, "build-20261125T120000.000Z.log", filepath.Base(left[0]), "pruneLogs kept the wrong log")
	}
}

func TestSplitDockerfileTakesOnlyAFinalBinaryCopy(t *testing.T) {
	base := "FROM scratch\n# the binary: build/app\nUSER 65532:65532\nCOPY --chown=65532:65532 build/rootfs/ /\n"
	for _, tt := range []struct {
		name, dockerfile string
		ok               bool
	}{
		{"final copy", base + "COPY build/app /app\n", true},
		{"comments and blank lines after it", base + "copy build/app /app\n\n# done\n", true},
		{"copy with flags", base + "COPY --chmod=0500 build/app /app\n", false},
		{"another destination", base + "COPY build/app /bin/app\n", false},
		{"an instruction after it", base + "COPY build/app /app\nLABEL x=y\n", false},
		{"the binary used before", "FROM scratch\nCOPY build/app /first\nCOPY build/app /app\n", false},
		{"continued from the line before", "FROM scratch\nLABEL a=b \\\nCOPY build/app /app\n", false},
		{"escape directive", "# escape=`\n" + base + "COPY build/app /app\n", false},
		{"empty", "", false},
	} {
		got, ok := splitDockerfile([]byte(tt.dockerfile))
		if !assert.Equal(t, tt.ok, ok, "%s: ok", tt.name) {
			continue
		}
		if ok {
			assert.Equal(t, base, string(got), "%s: base", tt.name)
		}
	}
}

func TestImageArchiveAddsTheLayerToTheBase(t *testing.T) {
	baseLayer := []byte("base layer bytes")
	baseConfig := `{"architecture":"amd64","os":"linux","config":{"User":"65532:65532","Labels":{"dev.quickscale.project":"p"}},` +
		`"rootfs":{"type":"layers","diff_ids":["sha256:aaaa"]},"history":[{"created_by":"COPY rootfs"}],"created":"2020-01-01T00:00:00Z"}`
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	for name, data := range map[string]string{
		"manifest.json": `[{"Config":"cfg.json","RepoTags":["p-app:base"],"Layers":["l1/layer.tar"]}]`,
		"cfg.json":      baseConfig,
		"l1/layer.tar":  string(baseLayer),
	} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()

	layer := []byte("the binary's layer")
	created := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	out, err := imageArchive(in.Bytes(), layer, []string{"p-app:0123456789ab", "p-app:latest"}, created)
	require.NoError(t, err)
	files, m, err := readArchive(out)
	require.NoError(t, err)
	require.Equal(t, []string{"p-app:0123456789ab", "p-app:latest"}, m.RepoTags, "manifest %+v", m)
	require.Len(t, m.Layers, 2, "manifest %+v", m)
	require.Equal(t, "l1/layer.tar", m.Layers[0], "manifest %+v", m)
	assert.Equal(t, baseLayer, files[m.Layers[0]], "the first layer is not the base's")
	assert.Equal(t, layer, files[m.Layers[1]], "the second layer is not the binary's")
	cfgJSON := files[m.Config]
	sum := sha256.Sum256(cfgJSON)
	assert.Equal(t, hex.EncodeToString(sum[:])+".json", m.Config, "the config file is not named by its digest")
	var cfg struct {
		Config struct {
			User   string
			Labels map[string]string
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
		History []map[string]any `json:"history"`
		Created string           `json:"created"`
		OS      string           `json:"os"`
	}
	require.NoError(t, json.Unmarshal(cfgJSON, &cfg))
	layerSum := sha256.Sum256(layer)
	if assert.Len(t, cfg.RootFS.DiffIDs, 2, "diff_ids, want the base's and the layer's digest") {
		assert.Equal(t, "sha256:"+hex.EncodeToString(layerSum[:]), cfg.RootFS.DiffIDs[1], "the layer's diff_id")
	}
	assert.Equal(t, "65532:65532", cfg.Config.User, "the base's user was not kept: %s", cfgJSON)
	assert.Equal(t, "p", cfg.Config.Labels["dev.quickscale.project"], "the base's label was not kept: %s", cfgJSON)
	assert.Equal(t, "linux", cfg.OS, "the base's OS was not kept: %s", cfgJSON)
	if assert.Len(t, cfg.History, 2, "history") {
		assert.Equal(t, "COPY build/app /app", cfg.History[1]["created_by"], "the binary's history entry")
	}
	assert.Equal(t, "2026-11-25T12:00:00Z", cfg.Created, "created")
}
