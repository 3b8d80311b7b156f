// Package filestest makes hostile files for the tests of uploads.
package filestest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// BombPNG is a valid PNG header declaring w × h pixels with no pixel
// data: a few dozen bytes that would take w*h*4 bytes decoded.
func BombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8 bits, RGBA, no interlace
	for _, c := range []struct {
		kind string
		data []byte
	}{{"IHDR", ihdr}, {"IEND", nil}} {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(c.data)))
		b.WriteString(c.kind)
		b.Write(c.data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(c.kind), c.data...)))
	}
	return b.Bytes()
}
