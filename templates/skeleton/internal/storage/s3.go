package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Config names a bucket on AWS S3 or on a server that speaks its API.
type S3Config struct {
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:7070;
	// empty means AWS itself.
	Endpoint string
	Region   string
	Bucket   string
	// PathStyle puts the bucket in the path (https://host/bucket/key)
	// rather than the host name, as most servers other than AWS need.
	PathStyle       bool
	AccessKeyID     string
	SecretAccessKey string
}

// S3 keeps objects in one bucket.
type S3 struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
}

// NewS3 returns the store for cfg. It contacts nothing until used.
func NewS3(cfg S3Config) *S3 {
	client := NewS3Client(cfg)
	return &S3{client: client, presign: s3.NewPresignClient(client), bucket: cfg.Bucket}
}

// NewS3Client is the SDK's client for cfg's server, for what the store
// does not do itself (a test harness creating its bucket).
func NewS3Client(cfg S3Config) *s3.Client {
	opts := s3.Options{
		Region:       cfg.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		UsePathStyle: cfg.PathStyle,
		// Checksums only where the API requires them: servers other than
		// AWS do not all accept the SDK's default trailing checksums.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	return s3.New(opts)
}

// Put streams r to the bucket. The body is sent unsigned (the headers are
// signed): signing it would mean reading it twice, and a stream cannot be
// read twice. A body that reads at offsets and seeks (a temporary file)
// goes as a section from where it stands, which the SDK can rewind to
// retry a failed request; a stream cannot be sent again.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	body := io.LimitReader(r, size)
	if f, ok := r.(interface {
		io.ReaderAt
		io.Seeker
	}); ok {
		if at, err := f.Seek(0, io.SeekCurrent); err == nil {
			body = io.NewSectionReader(f, at, size)
		}
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: body,
		ContentLength: aws.Int64(size), ContentType: aws.String(contentType),
	}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// Open streams the object from the bucket.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := CheckKey(key); err != nil {
		return nil, Info{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, Info{}, s3Error("open", key, err)
	}
	return out.Body, Info{Key: key, Size: aws.ToInt64(out.ContentLength),
		ContentType: aws.ToString(out.ContentType), ModTime: aws.ToTime(out.LastModified)}, nil
}

// Stat asks the bucket for the object's size and type (HEAD).
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return Info{}, s3Error("stat", key, err)
	}
	return Info{Key: key, Size: aws.ToInt64(out.ContentLength),
		ContentType: aws.ToString(out.ContentType), ModTime: aws.ToTime(out.LastModified)}, nil
}

// Delete removes the object; S3 reports success for a missing one too.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return s3Error("delete", key, err)
	}
	return nil
}

// Walk pages through the bucket's listing under prefix.
func (s *S3) Walk(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %q: %w", prefix, err)
		}
		for _, o := range page.Contents {
			if err := fn(Info{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// PresignUpload signs a POST policy whose conditions fix the key, the
// Content-Type and the length: the server refuses any other upload.
func (s *S3) PresignUpload(ctx context.Context, key, contentType string, maxSize int64, expiry time.Duration) (Upload, error) {
	if err := CheckKey(key); err != nil {
		return Upload{}, err
	}
	req, err := s.presign.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key},
		func(o *s3.PresignPostOptions) {
			o.Expires = expiry
			o.Conditions = []any{
				map[string]string{"Content-Type": contentType},
				[]any{"content-length-range", 1, maxSize},
			}
		})
	if err != nil {
		return Upload{}, fmt.Errorf("sign an upload of %s: %w", key, err)
	}
	req.Values["Content-Type"] = contentType
	return Upload{URL: req.URL, Fields: req.Values}, nil
}

// PresignDownload signs a GET whose response carries contentType,
// disposition and private caching, whatever the object's own metadata
// says.
func (s *S3) PresignDownload(ctx context.Context, key, contentType, disposition string, expiry time.Duration) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: &s.bucket, Key: &key,
		ResponseContentType:        aws.String(contentType),
		ResponseContentDisposition: aws.String(disposition),
		ResponseCacheControl:       aws.String("private, no-store"),
	}, s3.WithPresignExpires(expiry))
	if err != nil {
		return "", fmt.Errorf("sign a download of %s: %w", key, err)
	}
	return req.URL, nil
}

// s3Error makes a 404 from the server ErrNotFound.
func s3Error(op, key string, err error) error {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}
