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
		if ok != tt.ok {
			t.Errorf("%s: ok = %v, want %v", tt.name, ok, tt.ok)
			continue
		}
		if ok && string(got) != base {
			t.Errorf("%s: base = %q, want %q", tt.name, got, base)
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
	if err != nil {
		t.Fatal(err)
	}
	files, m, err := readArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.RepoTags, " ") != "p-app:0123456789ab p-app:latest" || len(m.Layers) != 2 || m.Layers[0] != "l1/layer.tar" {
		t.Fatalf("manifest %+v", m)
	}
	if !bytes.Equal(files[m.Layers[0]], baseLayer) || !bytes.Equal(files[m.Layers[1]], layer) {
		t.Error("the layers are not the base's followed by the binary's")
	}
	cfgJSON := files[m.Config]
	if sum := sha256.Sum256(cfgJSON); m.Config != hex.EncodeToString(sum[:])+".json" {
		t.Errorf("config file %s is not named by its digest", m.Config)
	}
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
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		t.Fatal(err)
	}
	layerSum := sha256.Sum256(layer)
	if len(cfg.RootFS.DiffIDs) != 2 || cfg.RootFS.DiffIDs[1] != "sha256:"+hex.EncodeToString(layerSum[:]) {
		t.Errorf("diff_ids %v, want the base's and the layer's digest", cfg.RootFS.DiffIDs)
	}
	if cfg.Config.User != "65532:65532" || cfg.Config.Labels["dev.quickscale.project"] != "p" || cfg.OS != "linux" {
		t.Errorf("the base's settings were not kept: %s", cfgJSON)
	}
	if len(cfg.History) != 2 || cfg.History[1]["created_by"] != "COPY build/app /app" || cfg.Created != "2026-11-25T12:00:00Z" {
		t.Errorf("history %v created %s", cfg.History, cfg.Created)
	}
}
