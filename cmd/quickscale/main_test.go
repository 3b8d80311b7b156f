package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests build the real binary, with the link-time version a release
// build gets, and run it as a user would: no terminal, real signals.

// binary is quickscale, with the real quickscale-docker beside it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "quickscale-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "quickscale")
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "-ldflags",
		"-X github.com/quickscale/quickscale/internal/buildinfo.Version=v9.8.7 -X github.com/quickscale/quickscale/internal/buildinfo.Commit=feedfacecafe0123", ".", "../quickscale-docker")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("build quickscale: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// command prepares the binary with an isolated home and no terminal.
func command(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"QUICKSCALE_CONFIG=", "QUICKSCALE_DB=", "QUICKSCALE_DIR=", "QUICKSCALE_GIT=", "QUICKSCALE_MODULE_PREFIX=",
		"GIT_CONFIG_GLOBAL="+filepath.Join(home, ".gitconfig"), "GIT_CONFIG_NOSYSTEM=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		return exitErr.ExitCode()
	default:
		require.NoError(t, err, "run quickscale")
		return -1
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		args       []string
		wantCode   int
		wantStderr string
	}{
		{args: []string{"--bogus"}, wantCode: 2, wantStderr: "Error: unknown flag: --bogus"},
		{args: []string{"init"}, wantCode: 2, wantStderr: "no terminal"},
		{args: []string{"init", "Bad_Name"}, wantCode: 2, wantStderr: `project name "Bad_Name"`},
		{args: []string{"init", "my-app", "--dry-run"}, wantCode: 0},
		{args: []string{"version"}, wantCode: 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			cmd, _, stderr := command(t, dir, tt.args...)
			require.Equal(t, tt.wantCode, exitCode(t, cmd.Run()), "stderr:\n%s", stderr)
			assert.Contains(t, stderr.String(), tt.wantStderr, "stderr %q does not contain %q", stderr, tt.wantStderr)
			if tt.wantCode != 0 {
				entries, _ := os.ReadDir(dir)
				assert.Empty(t, entries, "a failed run left entries in its directory")
			}
		})
	}
}

func TestVersionFromLinker(t *testing.T) {
	cmd, stdout, stderr := command(t, t.TempDir(), "version")
	require.NoError(t, cmd.Run(), "stderr: %s", stderr)
	for _, want := range []string{"quickscale v9.8.7\n", "commit: feedfacecafe\n", "built with: go"} {
		assert.Contains(t, stdout.String(), want, "version output %q does not contain %q", stdout, want)
	}
}

// SIGINT while init runs git: the context is cancelled, git is stopped and
// quickscale exits with the "cancelled" code. A stand-in git that waits
// forever makes the moment of the signal certain.
func TestInterruptExitsCancelled(t *testing.T) {
	bin := t.TempDir()
	started := filepath.Join(bin, "started")
	script := "#!/bin/sh\ntouch " + started + "\nexec sleep 60\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755))
	dir := t.TempDir()
	cmd, _, stderr := command(t, dir, "init", "my-app", "--git")
	cmd.Env = append(cmd.Env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		select {
		case err := <-done:
			require.FailNowf(t, "quickscale exited before running git", "%v\n%s", err, stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.Equal(t, 3, exitCode(t, <-done), "stderr:\n%s", stderr)
	assert.Contains(t, stderr.String(), "Cancelled while setting up git", "stderr = %q", stderr)
}
