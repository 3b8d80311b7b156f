package commands

import (
	"errors"
	"os"
	"sync"

	"github.com/quickscale/quickscale/internal/buildinfo"
	"github.com/quickscale/quickscale/internal/config"
	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/prompt"
)

// Factory hands commands their dependencies. The function fields build a
// dependency on first use, so a command pays only for what it touches:
// `quickscale version` reads no config file and never starts a prompt.
// Tests replace any field.
type Factory struct {
	IOStreams *iostreams.IOStreams
	Build     buildinfo.Info

	// Prompter asks the user questions; only call it after IOStreams says
	// CanPrompt.
	Prompter func() prompt.Prompter
	// Config resolves the settings: flags (once bound), QUICKSCALE_* env,
	// the config file, the defaults. It is loaded once per process.
	Config func() (*config.Config, error)
	// Docker connects to the Docker Engine on first use.
	Docker func() (docker.Engine, error)
	// DockerHelper, when set, runs the whole command line in the helper
	// program instead of here: this process has no Docker Engine client, and
	// each command marked annotationDocker is handed over before it runs.
	DockerHelper func() error
	// WorkingDir is the directory quickscale was started in; relative
	// paths on the command line are relative to it.
	WorkingDir func() (string, error)
	// Project finds the project around WorkingDir, from its root or any
	// directory below it.
	Project func() (Project, error)
}

// Connector makes the Docker Engine client; Main takes it from the program
// that links one.
type Connector func(docker.Streams) (docker.Engine, error)

// NewFactory returns the factory of a real run: the process's streams,
// environment and working directory, huh for questions. Without a
// connector, the Docker commands run in HelperName with args.
func NewFactory(connect Connector, args []string) *Factory {
	ios := iostreams.System()
	f := &Factory{
		IOStreams: ios,
		Build:     buildinfo.Get(),
		Prompter: func() prompt.Prompter {
			// Built on demand so it sees the colour choice made from flags.
			return prompt.NewHuh(ios.In, ios.Out, ios.ColorEnabled())
		},
		Config:     sync.OnceValues(config.Load),
		WorkingDir: os.Getwd,
	}
	if connect != nil {
		f.Docker = sync.OnceValues(func() (docker.Engine, error) {
			return connect(docker.Streams{In: ios.In, Out: ios.Out, ErrOut: ios.ErrOut})
		})
	} else {
		f.DockerHelper = func() error { return runHelper(f.Build, args) }
		// Reached only by a Docker command that lacks annotationDocker.
		f.Docker = func() (docker.Engine, error) {
			return nil, errors.New("this command needs the Docker Engine client, which runs in " + HelperName + ", but it was not handed over; this is a bug in quickscale")
		}
	}
	f.Project = sync.OnceValues(f.findProject)
	return f
}

// findProject finds the project from f's working directory as it is when
// the project is first asked for.
func (f *Factory) findProject() (Project, error) {
	return findProject(f.WorkingDir)
}
