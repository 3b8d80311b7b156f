package appbuild

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker"
)

// The classic builder turns `COPY build/app /app` into a container created,
// filled, committed and removed, after the whole context was sent and
// unpacked: about a second for a 20 MB binary, on every code change. When
// the Dockerfile ends with exactly that instruction, the builder builds
// everything before it (always cached after the first time) as the base
// image, and the binary's layer is added to it with an image load, which
// only unpacks the layer: the image is the same, in a third of the time.

// binaryCopy is the last instruction that allows the fast path.
var binaryCopy = []string{"COPY", ContextBinary, appcontract.ImageBinary}

// maxBaseSize bounds the base image exported on every build: a FROM scratch
// base is a few kilobytes; a large one is cheaper to leave to the builder.
const maxBaseSize = 8 << 20

// splitDockerfile returns the Dockerfile without its last instruction when
// that instruction is exactly binaryCopy and nothing before it uses the
// binary; ok is false for any other Dockerfile, which the builder then
// builds whole.
func splitDockerfile(dockerfile []byte) (base []byte, ok bool) {
	text := string(dockerfile)
	if strings.Contains(text, "# escape=") || strings.Contains(text, "#escape=") {
		return nil, false // a parser directive changes line continuation
	}
	end := len(text)
	for end > 0 {
		start := strings.LastIndexByte(text[:end-1], '\n') + 1
		line := strings.TrimSpace(text[start:end])
		if line == "" || strings.HasPrefix(line, "#") {
			end = start
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != len(binaryCopy) || !strings.EqualFold(fields[0], binaryCopy[0]) ||
			fields[1] != binaryCopy[1] || fields[2] != binaryCopy[2] {
			return nil, false
		}
		if start > 0 && strings.HasSuffix(strings.TrimRight(text[:start-1], " \t\r"), `\`) {
			return nil, false // the line continues an earlier one
		}
		base = []byte(text[:start])
		for l := range strings.Lines(text[:start]) {
			if l = strings.TrimSpace(l); !strings.HasPrefix(l, "#") && strings.Contains(l, ContextBinary) {
				return nil, false // an earlier instruction uses the binary
			}
		}
		return base, true
	}
	return nil, false
}

// layerOnBase builds the base image from base (the Dockerfile up to the
// binary's COPY), then loads the image made of its layers plus one holding
// the binary, tagged with tags. ok is false, with nothing tagged, when the
// base is too large for this to pay; the caller then builds whole.
func (b *Builder) layerOnBase(ctx context.Context, base []byte, binary string, tags []string, log io.Writer) (ok bool, err error) {
	baseRef := ImageRepository(b.Name) + ":" + docker.BaseTag
	saved, cache, err := b.cachedBase(ctx, base)
	if err != nil {
		return false, err
	}
	if saved == nil {
		fmt.Fprintf(log, "$ build base image %s\n", baseRef)
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(WriteContext(pw, base, ""))
		}()
		err = b.Engine.BuildImage(ctx, docker.ImageBuild{
			Context: pr,
			Tags:    []string{baseRef},
			Labels:  buildLabels(base, b.Name),
			Output:  log,
		})
		pr.Close()
		if err != nil {
			return false, err
		}
		size, err := b.Engine.ImageSize(ctx, baseRef)
		if err != nil {
			return false, err
		}
		if size > maxBaseSize {
			fmt.Fprintf(log, "base image is %d bytes; building the whole Dockerfile instead\n", size)
			return false, nil
		}
		var buf bytes.Buffer
		if err := b.Engine.SaveImage(ctx, baseRef, &buf); err != nil {
			return false, err
		}
		saved = buf.Bytes()
		b.keepBase(cache, saved, log)
	} else {
		fmt.Fprintf(log, "base image %s is up to date (%s)\n", baseRef, cache)
	}
	layer, err := binaryLayer(binary)
	if err != nil {
		return false, err
	}
	archive, err := imageArchive(saved, layer, tags, time.Now().UTC())
	if err != nil {
		return false, fmt.Errorf("compose the image from base image %s: %w", baseRef, err)
	}
	fmt.Fprintf(log, "$ load image %s: base image %s and the binary's layer\n", strings.Join(tags, ", "), baseRef)
	if err := b.Engine.LoadImage(ctx, bytes.NewReader(archive), log); err != nil {
		return false, err
	}
	return true, nil
}

// cachedBase returns the archive of the base image built from base, kept
// by an earlier build, if the engine still has that very image; and the
// path that archive is kept at. Saving the base's archive spares each build
// the base's build (every step a cache lookup) and its export.
func (b *Builder) cachedBase(ctx context.Context, base []byte) (saved []byte, cache string, err error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", recipeVersion, b.Name)
	h.Write(base)
	cache = filepath.Join(b.Root, StateDir, "build", "base-"+hex.EncodeToString(h.Sum(nil))[:16]+".tar")
	saved, err = os.ReadFile(cache)
	if err != nil {
		return nil, cache, nil // not kept yet, or unreadable: build it
	}
	id, err := archiveImageID(saved)
	if err != nil {
		return nil, cache, nil
	}
	exists, err := b.Engine.ImageExists(ctx, id)
	if err != nil || !exists {
		return nil, cache, err
	}
	return saved, cache, nil
}

// keepBase writes the base image's archive to cache, replacing any other
// kept base archive. Failing only costs the next build some time.
func (b *Builder) keepBase(cache string, saved []byte, log io.Writer) {
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(cache), "base-*.tar"))
	for _, o := range old {
		if o != cache {
			_ = os.Remove(o)
		}
	}
	if err := os.WriteFile(cache, saved, 0o644); err != nil {
		fmt.Fprintf(log, "keeping the base image's archive: %v\n", err)
	}
}

// binaryLayer is the layer `COPY build/app /app` makes: /app, owned by
// root, mode 0755, with the context's fixed time stamp.
func binaryLayer(binary string) ([]byte, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("read the app binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: "app", Mode: 0o755, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readArchive reads an image archive of one image: its files by name, and
// its manifest.
func readArchive(archive []byte) (map[string][]byte, saveManifest, error) {
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, saveManifest{}, fmt.Errorf("read the base image archive: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, saveManifest{}, fmt.Errorf("read the base image archive: %w", err)
		}
		files[path.Clean(hdr.Name)] = data
	}
	var manifests []saveManifest
	if err := json.Unmarshal(files["manifest.json"], &manifests); err != nil || len(manifests) != 1 {
		return nil, saveManifest{}, fmt.Errorf("the base image archive has no single manifest (%v)", err)
	}
	return files, manifests[0], nil
}

// archiveImageID is the ID of the image in an archive: the digest of its
// configuration.
func archiveImageID(archive []byte) (string, error) {
	files, m, err := readArchive(archive)
	if err != nil {
		return "", err
	}
	config, ok := files[path.Clean(m.Config)]
	if !ok {
		return "", errors.New("the base image archive lacks its configuration")
	}
	sum := sha256.Sum256(config)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// saveManifest is one entry of an image archive's manifest.json.
type saveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// imageArchive turns the archive of the base image (docker save) into the
// archive of an image with one more layer, tagged with tags. The base's
// configuration is kept as it is, except for the layer list, the history
// and the creation time.
func imageArchive(baseArchive, layer []byte, tags []string, created time.Time) ([]byte, error) {
	files, m, err := readArchive(baseArchive)
	if err != nil {
		return nil, err
	}
	var config map[string]json.RawMessage
	if err := json.Unmarshal(files[path.Clean(m.Config)], &config); err != nil {
		return nil, fmt.Errorf("the base image's configuration: %w", err)
	}
	var rootfs struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	}
	if err := json.Unmarshal(config["rootfs"], &rootfs); err != nil || len(rootfs.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("the base image's layer list does not match its manifest (%v)", err)
	}
	var history []map[string]any
	if raw, ok := config["history"]; ok {
		if err := json.Unmarshal(raw, &history); err != nil {
			return nil, fmt.Errorf("the base image's history: %w", err)
		}
	}

	layerSum := sha256.Sum256(layer)
	layerHex := hex.EncodeToString(layerSum[:])
	rootfs.DiffIDs = append(rootfs.DiffIDs, "sha256:"+layerHex)
	stamp := created.Format(time.RFC3339Nano)
	history = append(history, map[string]any{"created": stamp, "created_by": strings.Join(binaryCopy, " ")})
	for key, v := range map[string]any{"rootfs": rootfs, "history": history, "created": stamp} {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		config[key] = raw
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	configSum := sha256.Sum256(configJSON)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	layerName := layerHex + "/layer.tar"
	manifest, err := json.Marshal([]saveManifest{{Config: configName, RepoTags: tags, Layers: append(m.Layers, layerName)}})
	if err != nil {
		return nil, err
	}

	type entry struct {
		name string
		data []byte
	}
	entries := []entry{{"manifest.json", manifest}, {configName, configJSON}, {layerName, layer}}
	for _, l := range m.Layers {
		data, ok := files[path.Clean(l)]
		if !ok {
			return nil, fmt.Errorf("the base image archive lacks layer %s", l)
		}
		entries = append(entries, entry{l, data})
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
