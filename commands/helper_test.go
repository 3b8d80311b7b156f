package commands

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/internal/docker"
)

// withHelper makes env a quickscale without the Docker Engine client: the
// Docker commands must be handed over before they do anything, so both the
// engine and the project lookup fail the test. It returns how many times the
// helper ran.
func withHelper(t *testing.T, env *testEnv) *int {
	t.Helper()
	handed := 0
	env.f.DockerHelper = func() error {
		handed++
		return &ExitStatusError{Code: 42}
	}
	env.f.Docker = func() (docker.Engine, error) {
		assert.Fail(t, "a command asked this process for the Docker Engine")
		return nil, errors.New("no engine")
	}
	env.f.Project = func() (Project, error) {
		assert.Fail(t, "a command looked for the project before it was handed over")
		return Project{}, errors.New("no project")
	}
	return &handed
}

func TestDockerCommandsAreHandedOver(t *testing.T) {
	isolate(t)
	for _, cmdline := range []string{"check", "build", "up", "down --volumes --yes", "ps --json", "logs app", "manage migrate status", "test", "destroy --yes"} {
		t.Run(cmdline, func(t *testing.T) {
			env := newTestEnv(t, false)
			handed := withHelper(t, env)
			assert.Equal(t, ExitCode(42), env.run(context.Background(), cmdline), "the helper's exit status")
			assert.Equal(t, 1, *handed, "times handed to the helper")
			assert.Empty(t, env.stdout.String()+env.stderr.String(), "output before handing over")
		})
	}
}

// Every other command runs here; a new command that drives Docker and
// lacks annotationDocker shows up as a command missing from this list.
func TestOnlyDockerCommandsAreHandedOver(t *testing.T) {
	inProcess := map[string]bool{"init": true, "version": true, "completion": true, "help": true}
	for _, c := range NewCmdRoot(newTestEnv(t, false).f).Commands() {
		assert.Equal(t, !inProcess[c.Name()], c.Annotations[annotationDocker] != "", "%s handed to %s", c.Name(), HelperName)
	}

	isolate(t)
	for _, cmdline := range []string{"version", "init my-app --dry-run", "completion bash", "help up", "up --help", "ps --bogus"} {
		t.Run(cmdline, func(t *testing.T) {
			env := newTestEnv(t, false)
			handed := withHelper(t, env)
			code := env.run(context.Background(), cmdline)
			assert.Zero(t, *handed, "times handed to the helper")
			if cmdline == "ps --bogus" {
				assert.Equal(t, ExitUsage, code, "a usage error is reported here")
			} else {
				require.Equal(t, ExitOK, code, "stderr: %s", env.stderr)
			}
		})
	}
}
