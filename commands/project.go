package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/docker/appbuild"
	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/project"
)

// Project is the generated project a command runs in: the directory that
// holds its marker, and the marker.
type Project struct {
	Root   string
	Marker project.Marker
}

// findProject looks for quickscale.yaml in the working directory and its
// parents.
func findProject(workingDir func() (string, error)) (Project, error) {
	wd, err := workingDir()
	if err != nil {
		return Project{}, fmt.Errorf("find the working directory: %w", err)
	}
	root, m, err := project.Find(wd)
	if err != nil {
		return Project{}, err
	}
	return Project{Root: root, Marker: m}, nil
}

// projectEngine finds the project, then connects to Docker: the first two
// steps of most Docker commands, in the order that gives the more useful
// error outside a project.
func projectEngine(findProject func() (Project, error), connect func() (docker.Engine, error)) (Project, docker.Engine, error) {
	p, err := findProject()
	if err != nil {
		return Project{}, nil, err
	}
	e, err := connect()
	if err != nil {
		return Project{}, nil, err
	}
	return p, e, nil
}

// stack is the project's compose stack, with env overriding compose.yaml's
// variables.
func (p Project) stack(env map[string]string) docker.Stack {
	if env == nil {
		env = map[string]string{}
	}
	return docker.Stack{Name: p.Marker.Name, Dir: p.Root, Env: env}
}

// dotEnv reads the project's .env; a missing file is an empty one.
func (p Project) dotEnv() (map[string]string, error) {
	path := filepath.Join(p.Root, ".env")
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return map[string]string{}, nil
	}
	env, err := dotenv.GetEnvFromFile(nil, []string{path})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w; fix the line it names", path, err)
	}
	return env, nil
}

// setting is a variable the way compose interpolates it: from the
// environment, then from .env.
func (p Project) setting(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	env, err := p.dotEnv()
	if err != nil {
		return "", err
	}
	return env[name], nil
}

// appPort is the host port the app is published on, chosen the way
// compose chooses it: the flag, then the environment, then .env.
func (p Project) appPort(flag int) (int, error) {
	if flag != 0 {
		return flag, nil
	}
	raw, err := p.setting("APP_PORT")
	if err != nil {
		return 0, err
	}
	if raw == "" {
		return appcontract.HTTPPort, nil
	}
	port, err := strconv.Atoi(raw)
	if err != nil || port < 1 || port > 65535 {
		return 0, &SettingError{err: fmt.Errorf("APP_PORT is %q; set it in .env to a port number such as %d", raw, appcontract.HTTPPort)}
	}
	return port, nil
}

// builder is the project's image builder, reporting its steps on the
// progress indicator of ios.
func (p Project) builder(e docker.Engine, ios *iostreams.IOStreams) *appbuild.Builder {
	return &appbuild.Builder{Engine: e, Root: p.Root, Name: p.Marker.Name, Step: ios.StartProgressIndicatorWithLabel}
}
