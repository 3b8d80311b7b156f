package main

import (
	"path/filepath"

	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
)

// openStore is the configured backend for uploaded files, and what to
// close when the application stops.
func openStore(cfg config.Storage) (storage.Store, func() error) {
	if cfg.Backend == "s3" {
		return storage.NewS3(storage.S3Config{
			Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.S3Bucket, PathStyle: cfg.S3PathStyle,
			AccessKeyID: cfg.S3AccessKeyID, SecretAccessKey: cfg.S3SecretAccessKey.Reveal(),
		}), func() error { return nil }
	}
	local := storage.NewLocal(cfg.Dir)
	return local, local.Close
}

// spoolDir is where uploads are spooled while they are checked: under the
// data directory, not the system's temporary one, so that the orphan
// sweep removes what a crash leaves there.
const spoolDir = ".spool"

// buildFiles makes the files service on the configured store and
// registers its purge and orphan sweep.
func (a *app) buildFiles() {
	store, closeStore := openStore(a.cfg.Storage)
	a.closeStore = closeStore
	a.files = files.New(files.Options{DB: a.db, Store: store, Jobs: a.jobs, Clock: a.clock, Logger: a.logger,
		TempDir: filepath.Join(a.cfg.Storage.Dir, spoolDir),
		Limits:  files.Limits{MaxUploadBytes: a.cfg.Storage.MaxUploadBytes, QuotaBytes: a.cfg.Storage.QuotaBytes}})
	a.files.RegisterJobs(a.jobs)
}
