// Package storage keeps file contents by key, on local disk under the data
// directory or in an S3-compatible bucket, behind one interface. It knows
// nothing of users or records: the files package decides the keys (always
// server-generated) and what may be stored; storage only refuses a key that
// could name anything outside its own space.
package storage

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// ErrNotFound is returned for a key that holds nothing.
var ErrNotFound = errors.New("storage: no object under this key")

// ErrInvalidKey is returned for a key that is not a plain relative path
// of safe segments.
var ErrInvalidKey = errors.New("storage: invalid key")

// Store holds objects by key.
type Store interface {
	// Put stores the first size bytes of r under key, replacing any
	// object there. A reader that ends sooner fails the call and leaves no
	// object behind; Put never reads past size.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open returns the object's contents; a local object's reader is also
	// an io.ReadSeeker, for http.ServeContent. Close it.
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat describes the object under key, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the object under key; nothing there is no error.
	Delete(ctx context.Context, key string) error
	// Walk calls fn for every object whose key starts with prefix.
	Walk(ctx context.Context, prefix string, fn func(Info) error) error
}

// Info describes one stored object.
type Info struct {
	Key  string
	Size int64
	// ContentType is the type the backend stored with the object; local
	// disk stores none (the file's record holds it).
	ContentType string
	ModTime     time.Time
}

// Direct is a Store that browsers talk to themselves, with requests the
// server signs: uploads and downloads then never pass through the
// application.
type Direct interface {
	Store
	// PresignUpload signs a browser form POST that can store only key,
	// only with contentType and only between 1 and maxSize bytes, until
	// expiry.
	PresignUpload(ctx context.Context, key, contentType string, maxSize int64, expiry time.Duration) (Upload, error)
	// PresignDownload signs a GET of key, until expiry, whose response
	// carries the Content-Type contentType and the Content-Disposition
	// disposition.
	PresignDownload(ctx context.Context, key, contentType, disposition string, expiry time.Duration) (string, error)
}

// Upload is a signed form: POST Fields, then the file as the last field
// named "file", as multipart/form-data to URL.
type Upload struct {
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

// maxKeyLength leaves room under S3's 1,024-byte limit and the 255-byte
// file name limit of local file systems for every segment.
const maxKeyLength = 512

// CheckKey returns ErrInvalidKey unless key is a relative path of segments
// made of ASCII letters, digits, '-', '_' and '.', none starting with '.'
// (so no "..", and the local backend's own ".tmp" is out of reach): a key
// means the same on every backend and never leaves its root.
func CheckKey(key string) error {
	if key == "" || len(key) > maxKeyLength {
		return ErrInvalidKey
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg[0] == '.' || len(seg) > 200 {
			return ErrInvalidKey
		}
		for _, c := range []byte(seg) {
			if !safeKeyByte(c) {
				return ErrInvalidKey
			}
		}
	}
	return nil
}

func safeKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// checkPrefix accepts "" (everything) or a key followed by an optional "/".
func checkPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return CheckKey(strings.TrimSuffix(prefix, "/"))
}
