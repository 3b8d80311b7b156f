package config

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// s3On is a complete S3 storage configuration for a local server.
func s3On(extra map[string]string) map[string]string {
	vars := map[string]string{
		"STORAGE_BACKEND":              "s3",
		"STORAGE_S3_ENDPOINT":          "http://127.0.0.1:7070/",
		"STORAGE_S3_BUCKET":            "acme-uploads",
		"STORAGE_S3_ACCESS_KEY_ID":     "AKIAEXAMPLE",
		"STORAGE_S3_SECRET_ACCESS_KEY": "s3-secret-value",
	}
	maps.Copy(vars, extra)
	return vars
}

func TestLoadStorage(t *testing.T) {
	def, err := Load(env(nil))
	require.NoError(t, err)
	assert.Equal(t, Storage{Backend: "local", Dir: "data/files", MaxUploadBytes: 25 << 20, QuotaBytes: 1 << 30, S3Region: "us-east-1"}, def.Storage)

	cfg, err := Load(env(s3On(map[string]string{"STORAGE_MAX_UPLOAD_MB": "100", "STORAGE_QUOTA_MB": "5000"})))
	require.NoError(t, err)
	s := cfg.Storage
	assert.Equal(t, "s3", s.Backend)
	assert.Equal(t, "http://127.0.0.1:7070", s.S3Endpoint, "the trailing slash is dropped")
	assert.True(t, s.S3PathStyle, "path style by default with a custom endpoint")
	assert.Equal(t, int64(100<<20), s.MaxUploadBytes)
	assert.Equal(t, int64(5000<<20), s.QuotaBytes)
	assert.NotContains(t, s.S3SecretAccessKey.String()+cfg.LogValue().String(), "s3-secret-value")

	aws, err := Load(env(s3On(map[string]string{"STORAGE_S3_ENDPOINT": "", "STORAGE_S3_REGION": "eu-west-1"})))
	require.NoError(t, err)
	assert.False(t, aws.Storage.S3PathStyle, "AWS itself: virtual-hosted style")
	assert.Equal(t, "eu-west-1", aws.Storage.S3Region)

	prod := map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey, "EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com"}
	_, err = Load(env(s3On(prod)))
	require.NoError(t, err, "plain http to a server on this machine is allowed in production")
}

func TestLoadRefusesBadStorageSettings(t *testing.T) {
	prod := s3On(map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey, "EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com",
		"STORAGE_S3_ENDPOINT": "http://minio.internal:9000"})
	requireRefusals(t, []refusal{
		{"unknown backend", map[string]string{"STORAGE_BACKEND": "ftp"}, []string{"STORAGE_BACKEND", "local", "s3"}},
		{"s3 without anything", map[string]string{"STORAGE_BACKEND": "s3"},
			[]string{"STORAGE_S3_BUCKET", "STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY"}},
		{"bad bucket", s3On(map[string]string{"STORAGE_S3_BUCKET": "Acme_Uploads"}), []string{"STORAGE_S3_BUCKET", "lower-case"}},
		{"bad endpoint", s3On(map[string]string{"STORAGE_S3_ENDPOINT": "127.0.0.1:7070"}), []string{"STORAGE_S3_ENDPOINT", "http://127.0.0.1:7070"}},
		{"endpoint with a path", s3On(map[string]string{"STORAGE_S3_ENDPOINT": "https://s3.example.com/bucket"}), []string{"STORAGE_S3_ENDPOINT", "base URL"}},
		{"http in production", prod, []string{"STORAGE_S3_ENDPOINT is plain http in production", "https"}},
		{"bad path style", s3On(map[string]string{"STORAGE_S3_PATH_STYLE": "sometimes"}), []string{"STORAGE_S3_PATH_STYLE", "true"}},
		{"secret without key id", s3On(map[string]string{"STORAGE_S3_ACCESS_KEY_ID": ""}), []string{"STORAGE_S3_ACCESS_KEY_ID"}},
		{"bad size", map[string]string{"STORAGE_MAX_UPLOAD_MB": "25MB"}, []string{"STORAGE_MAX_UPLOAD_MB", "whole number of megabytes"}},
		{"zero quota", map[string]string{"STORAGE_QUOTA_MB": "0"}, []string{"STORAGE_QUOTA_MB", "1024"}},
		{"file larger than quota", map[string]string{"STORAGE_MAX_UPLOAD_MB": "50", "STORAGE_QUOTA_MB": "10"}, []string{"STORAGE_MAX_UPLOAD_MB is larger than STORAGE_QUOTA_MB"}},
	})
}
