package files

import (
	"bufio"
	"encoding/binary"
	"io"
)

// exifOrientation reads the EXIF orientation (1 to 8) of the JPEG in r,
// or returns 0. It reads markers only up to the image data and at most
// one EXIF segment, so a hostile file costs little.
func exifOrientation(r io.Reader) int {
	br := bufio.NewReader(r)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return 0
	}
	for {
		var marker [4]byte
		if _, err := io.ReadFull(br, marker[:]); err != nil || marker[0] != 0xFF {
			return 0
		}
		length := int(binary.BigEndian.Uint16(marker[2:])) - 2
		if marker[1] == 0xDA || length < 0 { // start of scan: no EXIF before the image
			return 0
		}
		if marker[1] != 0xE1 {
			if _, err := br.Discard(length); err != nil {
				return 0
			}
			continue
		}
		seg := make([]byte, length)
		if _, err := io.ReadFull(br, seg); err != nil {
			return 0
		}
		if o := tiffOrientation(seg); o != 0 {
			return o
		}
	}
}

// tiffOrientation finds tag 0x0112 in IFD0 of an APP1 "Exif" segment.
func tiffOrientation(seg []byte) int {
	if len(seg) < 14 || string(seg[:6]) != "Exif\x00\x00" {
		return 0
	}
	tiff := seg[6:]
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 0
	}
	ifd := int(order.Uint32(tiff[4:8]))
	if ifd < 8 || ifd+2 > len(tiff) {
		return 0
	}
	entries := int(order.Uint16(tiff[ifd:]))
	for i := range entries {
		e := ifd + 2 + 12*i
		if e+12 > len(tiff) {
			return 0
		}
		// Type 3 is SHORT: the value sits in the entry itself.
		if order.Uint16(tiff[e:]) == 0x0112 && order.Uint16(tiff[e+2:]) == 3 {
			if o := int(order.Uint16(tiff[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 0
		}
	}
	return 0
}
