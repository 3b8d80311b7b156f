package files

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/gif" // registers the GIF decoder
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"os"

	// WebP images are decoded (the standard library has no decoder) and
	// stored as PNG (golang.org/x/image has no encoder).
	_ "golang.org/x/image/webp"
)

// The pixel budget: a decoded image takes up to 8 bytes a pixel (a
// 16-bit PNG), so 40 megapixels is up to 320 MB of memory; a 45-byte PNG
// can claim far more.
const (
	MaxPixels = 40_000_000
	MaxSide   = 10_000
)

// decodeBudget is the memory, in bytes, that the images being decoded,
// turned and encoded may take together: the most one image can take
// (MaxPixels at 8 bytes a pixel: a 16-bit PNG, or a CMYK JPEG and its
// upright copy), 320 MB. Two 8-bit images at the full pixel budget fit
// in it at once.
const decodeBudget = 8 * MaxPixels

// decodeCost is the memory an image of cfg takes decoded, with a 4-byte
// upright copy when it is turned, in bytes.
func decodeCost(cfg image.Config, turned bool) int64 {
	pixels := int64(cfg.Width) * int64(cfg.Height)
	cost := pixels * bytesPerPixel(cfg.ColorModel)
	if turned {
		cost += pixels * 4
	}
	return min(cost, decodeBudget)
}

// bytesPerPixel is what the decoder allocates a pixel for an image of m:
// YCbCr is counted as 4:4:4, its largest.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.YCbCrModel:
		return 3
	case color.Gray16Model:
		return 2
	case color.GrayModel, color.AlphaModel:
		return 1
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// withDecodeMemory runs work holding cost bytes of the decode budget,
// waiting its turn unless ctx ends first.
func (s *Service) withDecodeMemory(ctx context.Context, cost int64, work func() error) error {
	if err := s.decodeMemory.Acquire(ctx, cost); err != nil {
		return fmt.Errorf("wait to decode an image: %w", err)
	}
	defer s.decodeMemory.Release(cost)
	return work()
}

// encoded is a re-encoded image in a temporary file.
type encoded struct {
	file          *os.File
	contentType   string
	width, height int
}

// reencode checks in's dimensions before decoding it, decodes it (within
// the decode budget, held until the encoding is written), turns it
// upright by its EXIF orientation, and writes it anew: metadata, and
// whatever was appended after the image data, is left behind. Animated
// GIFs keep their first frame; GIF and WebP become PNG.
func (s *Service) reencode(ctx context.Context, in *os.File) (encoded, error) {
	unreadable := &Problem{Status: http.StatusUnprocessableEntity, Code: "unreadable_image", Message: "the image could not be read: it may be damaged; save it again and upload the copy"}
	cfg, format, err := image.DecodeConfig(io.NewSectionReader(in, 0, fileSize(in)))
	if err != nil {
		return encoded{}, unreadable
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide || cfg.Width*cfg.Height > MaxPixels {
		return encoded{}, &Problem{Status: http.StatusUnprocessableEntity, Code: "image_too_large", Message: fmt.Sprintf(
			"the image is %d × %d pixels: images may be at most %d pixels a side and %d megapixels; scale it down and upload it again",
			cfg.Width, cfg.Height, MaxSide, MaxPixels/1_000_000)}
	}
	orientation := 1
	if format == "jpeg" {
		orientation = exifOrientation(io.NewSectionReader(in, 0, fileSize(in)))
	}
	var out encoded
	err = s.withDecodeMemory(ctx, decodeCost(cfg, orientation >= 2 && orientation <= 8), func() error {
		img, err := decode(io.NewSectionReader(in, 0, fileSize(in)))
		if err != nil {
			s.logger.Info("an uploaded image did not decode", "format", format, "error", err)
			return unreadable
		}
		img = orient(img, orientation)
		f, err := os.CreateTemp(s.tempDir, "image-*")
		if err != nil {
			return fmt.Errorf("create a temporary file for an image: %w", err)
		}
		contentType := "image/png"
		capped := &cappedWriter{w: f, left: s.limits.MaxUploadBytes}
		if format == "jpeg" {
			contentType = "image/jpeg"
			err = jpeg.Encode(capped, img, &jpeg.Options{Quality: 90})
		} else {
			err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(capped, img)
		}
		if errors.Is(err, errOverLimit) {
			removeTemp(f)
			return &Problem{Status: http.StatusRequestEntityTooLarge, Code: "file_too_large", Message: fmt.Sprintf(
				"the image is larger than %s, the most one upload may be, once re-encoded: save it with fewer pixels and upload it again",
				FormatBytes(s.limits.MaxUploadBytes))}
		}
		if err != nil {
			removeTemp(f)
			return fmt.Errorf("re-encode an image: %w", err)
		}
		b := img.Bounds()
		out = encoded{file: f, contentType: contentType, width: b.Dx(), height: b.Dy()}
		return nil
	})
	return out, err
}

// errOverLimit stops an encoder whose output passes the upload limit.
var errOverLimit = errors.New("over the upload limit")

// cappedWriter writes at most left bytes to w: the re-encoded image's
// temporary file is bounded as the spooled upload is.
type cappedWriter struct {
	w    io.Writer
	left int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, errOverLimit
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}

// decode turns a decoder's panic on hostile input into an error.
func decode(r io.Reader) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("the decoder panicked: %v", p)
		}
	}()
	img, _, err = image.Decode(r)
	if err == nil && img == nil {
		err = errors.New("no image")
	}
	return img, err
}

// orient returns img turned upright from EXIF orientation o (1 to 8; 1
// and anything unknown: as it is), in one new NRGBA: each source row is
// converted into a row buffer and its pixels copied to where they land.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 { // 5 to 8 swap the sides
		dw, dh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	row := image.NewNRGBA(image.Rect(0, 0, w, 1))
	for y := range h {
		draw.Draw(row, row.Bounds(), img, image.Pt(b.Min.X, b.Min.Y+y), draw.Src)
		for x := range w {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored upside down
				dx, dy = x, h-1-y
			case 5: // mirrored, turned left
				dx, dy = y, x
			case 6: // turned left: rotate right
				dx, dy = h-1-y, x
			case 7: // mirrored, turned right
				dx, dy = h-1-y, w-1-x
			case 8: // turned right: rotate left
				dx, dy = y, w-1-x
			}
			copy(dst.Pix[dst.PixOffset(dx, dy):][:4], row.Pix[4*x:][:4])
		}
	}
	return dst
}
