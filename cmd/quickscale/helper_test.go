package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aloneWith copies quickscale into a directory of its own, with helper as
// the script quickscale-docker beside it unless helper is empty.
func aloneWith(t *testing.T, helper string) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(binary)
	require.NoError(t, err)
	bin := filepath.Join(dir, "quickscale")
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	if helper != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "quickscale-docker"), []byte(helper), 0o755))
	}
	return bin
}

// A stand-in helper shows what it was given: the command line as typed,
// the terminal-less streams, the build that handed it over; its exit
// status is quickscale's.
func TestDockerCommandRunsInHelper(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in helper is a shell script")
	}
	bin := aloneWith(t, "#!/bin/sh\necho \"args: $*\"\necho \"by: $QUICKSCALE_HANDED_OVER_BY\"\necho \"to stderr\" >&2\nexit 42\n")
	cmd, stdout, stderr := command(t, t.TempDir(), "up", "--port", "8123", "--no-color")
	cmd.Path = bin
	require.Equal(t, 42, exitCode(t, cmd.Run()), "stderr:\n%s", stderr)
	assert.Equal(t, "args: up --port 8123 --no-color\nby: quickscale v9.8.7, commit: feedfacecafe, built with: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n", stdout.String())
	assert.Equal(t, "to stderr\n", stderr.String())
}

func TestMissingHelper(t *testing.T) {
	bin := aloneWith(t, "")
	for _, tt := range []struct {
		args     []string
		wantCode int
	}{
		{[]string{"ps"}, 1},
		// Help and usage errors are answered without the helper.
		{[]string{"up", "--help"}, 0},
		{[]string{"logs", "--bogus"}, 2},
	} {
		cmd, _, stderr := command(t, t.TempDir(), tt.args...)
		cmd.Path = bin
		require.Equal(t, tt.wantCode, exitCode(t, cmd.Run()), "%s: stderr:\n%s", tt.args, stderr)
		if tt.wantCode == 1 {
			assert.Contains(t, stderr.String(), "quickscale runs its Docker commands with quickscale-docker, which is missing from "+filepath.Dir(bin), "stderr")
		}
	}
}

// The real helper runs the command: outside a project, ps says so.
func TestHelperRunsTheCommand(t *testing.T) {
	cmd, stdout, stderr := command(t, t.TempDir(), "ps")
	require.Equal(t, 1, exitCode(t, cmd.Run()), "stderr:\n%s", stderr)
	assert.Empty(t, stdout.String(), "stdout")
	assert.Contains(t, stderr.String(), "Error: not inside a quickscale project", "stderr")
}

func TestHelperRefusesAnotherBuild(t *testing.T) {
	cmd, _, stderr := command(t, t.TempDir(), "ps")
	cmd.Path = filepath.Join(filepath.Dir(binary), "quickscale-docker")
	cmd.Env = append(cmd.Env, "QUICKSCALE_HANDED_OVER_BY=quickscale v1.0.0, commit: 0123456789ab")
	require.Equal(t, 1, exitCode(t, cmd.Run()), "stderr:\n%s", stderr)
	assert.Contains(t, stderr.String(), "quickscale-docker is quickscale v9.8.7, commit: feedfacecafe, built with: ", "stderr")
	assert.Contains(t, stderr.String(), "but the quickscale that started it is quickscale v1.0.0, commit: 0123456789ab; install both programs together", "stderr")
}

// quickscale must not link the Docker Engine client or the compose library:
// their package initialisation runs at every start and tripled the time of
// `quickscale version`.
func TestNoDockerClientLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err, "go list")
	for _, pkg := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/docker/", "github.com/moby/", "github.com/santhosh-tekuri/jsonschema", "google.golang.org/grpc", "go.opentelemetry.io/", "github.com/quickscale/quickscale/internal/docker/engine"} {
			assert.False(t, strings.HasPrefix(pkg, heavy), "quickscale links %s", pkg)
		}
	}
}
