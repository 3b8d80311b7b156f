package appbuild

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"
)

// Paths inside the build context. The project's Dockerfile copies these;
// its Makefile's image target lays out the same paths on disk, so a plain
// `docker build` works on the same Dockerfile.
const (
	ContextBinary = "build/app"
	ContextRootFS = "build/rootfs"
)

// recipeVersion changes whenever the context layout below changes, so that
// an image built from the old layout is never reused.
const recipeVersion = "quickscale-appimage-1"

// epoch is every entry's modification time: a context that differs only in
// time stamps is the same context, and the builder's cache sees it so.
var epoch = time.Unix(0, 0).UTC()

// ContentHash is the hex SHA-256 that names an image: the binary, the
// Dockerfile and the context layout, nothing else.
func ContentHash(binarySHA256 []byte, dockerfile []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", recipeVersion)
	fmt.Fprintf(h, "binary %x\n", binarySHA256)
	d := sha256.Sum256(dockerfile)
	fmt.Fprintf(h, "dockerfile %x\n", d)
	return hex.EncodeToString(h.Sum(nil))
}

// FileSHA256 hashes a file.
func FileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// WriteContext writes the image's build context as a tar stream: the
// Dockerfile, the binary (unless binary is empty), and a root filesystem
// skeleton with /tmp (mode 1777) and /data, where the SQLite volume mounts.
// The Dockerfile's COPY --chown gives both to AppUID; a fresh named volume
// then takes that ownership from the directory it covers.
func WriteContext(w io.Writer, dockerfile []byte, binary string) error {
	tw := tar.NewWriter(w)
	dirs := []tar.Header{
		{Name: "build/", Mode: 0o755},
		{Name: ContextRootFS + "/", Mode: 0o755},
		{Name: ContextRootFS + "/tmp/", Mode: 0o1777},
		{Name: ContextRootFS + "/data/", Mode: 0o755},
	}
	if err := writeFile(tw, "Dockerfile", 0o644, dockerfile); err != nil {
		return err
	}
	for _, d := range dirs {
		d.Typeflag = tar.TypeDir
		d.ModTime = epoch
		d.Format = tar.FormatPAX
		if err := tw.WriteHeader(&d); err != nil {
			return fmt.Errorf("write build context: %w", err)
		}
	}
	if binary == "" {
		if err := tw.Close(); err != nil {
			return fmt.Errorf("write build context: %w", err)
		}
		return nil
	}
	f, err := os.Open(binary)
	if err != nil {
		return fmt.Errorf("open the app binary: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open the app binary: %w", err)
	}
	hdr := &tar.Header{Name: ContextBinary, Mode: 0o755, Size: info.Size(), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write build context: %w", err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("write build context: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write build context: %w", err)
	}
	return nil
}

func writeFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	hdr := &tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write build context: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("write build context: %w", err)
	}
	return nil
}
