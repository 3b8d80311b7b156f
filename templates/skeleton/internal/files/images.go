package files

import (
	"errors"
	"fmt"
	"image"
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

// The pixel budget: a decoded image takes 4 bytes a pixel, so 40
// megapixels is 160 MB of memory; a 45-byte PNG can claim far more.
const (
	MaxPixels = 40_000_000
	MaxSide   = 10_000
)

// encoded is a re-encoded image in a temporary file.
type encoded struct {
	file          *os.File
	contentType   string
	width, height int
}

// reencode checks in's dimensions before decoding it, decodes it (at
// most a few at once: each may take the whole budget), turns it upright
// by its EXIF orientation, and writes it anew: metadata, and whatever
// was appended after the image data, is left behind. Animated GIFs keep
// their first frame; GIF and WebP become PNG.
func (s *Service) reencode(in *os.File) (encoded, error) {
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
	s.decoders <- struct{}{}
	img, err := decode(io.NewSectionReader(in, 0, fileSize(in)))
	<-s.decoders
	if err != nil {
		s.logger.Info("an uploaded image did not decode", "format", format, "error", err)
		return encoded{}, unreadable
	}
	if format == "jpeg" {
		img = orient(img, exifOrientation(io.NewSectionReader(in, 0, fileSize(in))))
	}
	out, err := os.CreateTemp(s.tempDir, "image-*")
	if err != nil {
		return encoded{}, fmt.Errorf("create a temporary file for an image: %w", err)
	}
	contentType := "image/png"
	if format == "jpeg" {
		contentType = "image/jpeg"
		err = jpeg.Encode(out, img, &jpeg.Options{Quality: 90})
	} else {
		err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(out, img)
	}
	if err != nil {
		removeTemp(out)
		return encoded{}, fmt.Errorf("re-encode an image: %w", err)
	}
	b := img.Bounds()
	return encoded{file: out, contentType: contentType, width: b.Dx(), height: b.Dy()}, nil
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
// and anything unknown: as it is).
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	src := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 { // 5 to 8 swap the sides
		dw, dh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
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
			copy(dst.Pix[dst.PixOffset(dx, dy):][:4], src.Pix[src.PixOffset(x, y):][:4])
		}
	}
	return dst
}
