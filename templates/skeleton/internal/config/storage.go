package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Storage says where uploaded files are kept and how much each user may
// keep.
type Storage struct {
	// Backend is "local" (files under Dir, the default) or "s3".
	Backend string
	Dir     string
	// MaxUploadBytes bounds one file; QuotaBytes all of one user's files.
	MaxUploadBytes int64
	QuotaBytes     int64
	// S3Endpoint is empty for AWS itself, else the server's base URL.
	S3Endpoint        string
	S3Region          string
	S3Bucket          string
	S3PathStyle       bool
	S3AccessKeyID     string
	S3SecretAccessKey Secret
}

// bucketName is S3's rule for bucket names (without the dotted forms
// that break TLS host names).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

const megabyte = 1 << 20

func loadStorage(get func(name, fallback string) string, env Env, problems []error) (Storage, []error) {
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	s := Storage{
		Backend:           strings.ToLower(get("STORAGE_BACKEND", "local")),
		Dir:               get("STORAGE_DIR", "data/files"),
		S3Endpoint:        strings.TrimSuffix(get("STORAGE_S3_ENDPOINT", ""), "/"),
		S3Region:          get("STORAGE_S3_REGION", "us-east-1"),
		S3Bucket:          get("STORAGE_S3_BUCKET", ""),
		S3AccessKeyID:     get("STORAGE_S3_ACCESS_KEY_ID", ""),
		S3SecretAccessKey: Secret(get("STORAGE_S3_SECRET_ACCESS_KEY", "")),
	}
	megabytes := func(name, fallback, example string) int64 {
		v := get(name, fallback)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 1<<20 {
			problem("%s is %q: use a whole number of megabytes, e.g. %s", name, v, example)
			return 0
		}
		return n * megabyte
	}
	s.MaxUploadBytes = megabytes("STORAGE_MAX_UPLOAD_MB", "25", "25")
	s.QuotaBytes = megabytes("STORAGE_QUOTA_MB", "1024", "1024 (1 GB per user)")
	if s.QuotaBytes > 0 && s.MaxUploadBytes > s.QuotaBytes {
		problem("STORAGE_MAX_UPLOAD_MB is larger than STORAGE_QUOTA_MB: no user could upload a file of the largest size; raise the quota or lower the limit")
	}
	switch s.Backend {
	case "local":
		if s.Dir == "" {
			problem("STORAGE_DIR is empty: name the directory for uploaded files, e.g. data/files")
		}
		return s, problems
	case "s3":
	default:
		problem("STORAGE_BACKEND is %q: use local (files on this machine's disk) or s3 (an S3-compatible bucket)", s.Backend)
		return s, problems
	}
	// Servers other than AWS nearly all need the bucket in the path.
	pathStyle := get("STORAGE_S3_PATH_STYLE", strconv.FormatBool(s.S3Endpoint != ""))
	var err error
	if s.S3PathStyle, err = strconv.ParseBool(pathStyle); err != nil {
		problem("STORAGE_S3_PATH_STYLE is %q: use true (https://host/bucket/key, most servers other than AWS) or false (https://bucket.host/key)", pathStyle)
	}
	if !bucketName.MatchString(s.S3Bucket) {
		problem("STORAGE_S3_BUCKET is %q: name an existing bucket of 3 to 63 lower-case letters, digits and hyphens, e.g. acme-uploads", s.S3Bucket)
	}
	if s.S3Endpoint != "" {
		u, err := url.Parse(s.S3Endpoint)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "":
			problem("STORAGE_S3_ENDPOINT is %q: use the server's base URL, e.g. https://s3.example.com or http://127.0.0.1:7070 (leave it empty for AWS)", s.S3Endpoint)
		case u.Scheme == "http" && env == Production && !loopback(u.Hostname()):
			problem("STORAGE_S3_ENDPOINT is plain http in production: signed upload links and files would cross the network in clear; use https")
		}
	}
	if s.S3Region == "" {
		problem("STORAGE_S3_REGION is empty: name the bucket's region, e.g. us-east-1")
	}
	if s.S3AccessKeyID == "" || s.S3SecretAccessKey == "" {
		problem("STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY must both be set: STORAGE_BACKEND=s3 signs every request with them")
	}
	return s, problems
}
