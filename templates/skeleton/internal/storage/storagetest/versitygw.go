// Package storagetest starts a real S3-compatible server for tests:
// versitygw, which checks request signatures and presigned POST policies
// as AWS does, so a test that a forged or out-of-policy request is refused
// proves something.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/quickscale/quickscale/templates/skeleton/internal/logging/logtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
)

// Version is the versitygw the tests are written against (`make tools`
// installs it into .tools/bin).
const Version = "v1.8.0"

// StartS3 runs versitygw from VERSITYGW_BIN or $PATH (`make tools` puts it
// in .tools/bin), on a loopback port of its own, with a fresh bucket, until the
// test ends. Missing, the test is skipped, unless REQUIRE_S3=1 makes that a
// failure.
func StartS3(t testing.TB) storage.S3Config {
	t.Helper()
	bin := findVersitygw()
	if bin == "" {
		msg := "versitygw not found (set VERSITYGW_BIN, run `make tools`, or go install github.com/versity/versitygw/cmd/versitygw@" + Version + ")"
		if os.Getenv("REQUIRE_S3") == "1" {
			t.Fatal("REQUIRE_S3=1: " + msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	cfg := storage.S3Config{Region: "us-east-1", Bucket: "test-" + strings.ToLower(rand.Text()[:12]), PathStyle: true,
		AccessKeyID: "test-" + rand.Text(), SecretAccessKey: rand.Text() + rand.Text()}
	// A free port can be taken by another process before versitygw binds
	// it: try a few.
	var problems []string
	for range 3 {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		if err := start(t, bin, addr, dir, cfg); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		cfg.Endpoint = "http://" + addr
		createBucket(t, cfg)
		return cfg
	}
	t.Fatalf("start versitygw: %s", strings.Join(problems, "; "))
	return cfg
}

// start runs versitygw on addr and waits until it accepts connections.
// Always with the address: its default listens on every interface.
func start(t testing.TB, bin, addr, dir string, cfg storage.S3Config) error {
	t.Helper()
	root := filepath.Join(dir, "gw-"+strings.ReplaceAll(addr, ":", "-"))
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	var out logtest.Buffer
	cmd := exec.Command(bin, "--port", addr, "--access", cfg.AccessKeyID, "--secret", cfg.SecretAccessKey,
		"--region", cfg.Region, "--quiet", "posix", root)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() { _ = cmd.Process.Kill(); <-exited }
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("versitygw on %s exited: %s", addr, out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Cleanup(stop)
			return nil
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("versitygw on %s did not listen within 30 s: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func createBucket(t testing.TB, cfg storage.S3Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := storage.NewS3Client(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &cfg.Bucket}); err != nil {
		t.Fatalf("create the test bucket: %v", err)
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func findVersitygw() string {
	if bin := os.Getenv("VERSITYGW_BIN"); bin != "" {
		return bin
	}
	bin, _ := exec.LookPath("versitygw")
	return bin
}

// Post sends a signed upload as a browser would: fields, then the file
// as the last field, named "file", as multipart/form-data. It returns the
// status and the body of the storage server's answer.
func Post(t testing.TB, url string, fields map[string]string, file []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("file", "upload")
	if err == nil {
		_, err = fw.Write(file)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
