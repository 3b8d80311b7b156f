package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/quickscale/quickscale/internal/buildinfo"
)

// HelperName is the program that runs the Docker commands, installed beside
// quickscale. The Docker Engine client and the compose library link about
// 550 packages whose initialisation runs at every start, used or not: in
// quickscale itself they would make `quickscale version` about four times
// slower and `quickscale init` tens of milliseconds slower (see
// cmd/quickscale).
const HelperName = "quickscale-docker"

// annotationDocker marks a command that drives the Docker Engine: a
// quickscale without the client hands it to HelperName once its flags have
// been parsed (so --help and usage errors are answered here).
const annotationDocker = "quickscale/docker"

// envHandedOver carries the handing-over quickscale's buildID to the
// helper, which refuses to run for another version: the two are installed
// together, but one can be replaced alone.
const envHandedOver = "QUICKSCALE_HANDED_OVER_BY"

// helperPath is HelperName in the directory of the running executable.
func helperPath() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", HelperName, err)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	name := HelperName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(filepath.Dir(self), name), nil
}

// runHelper runs args in HelperName, with this process's streams and
// environment, and exits with its status: on Unix the helper replaces this
// process, elsewhere quickscale waits for it.
func runHelper(build buildinfo.Info, args []string) error {
	path, err := helperPath()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("quickscale runs its Docker commands with %s, which is missing from %s; %s", HelperName, filepath.Dir(path), installHint)
		}
		return fmt.Errorf("find %s: %w", HelperName, err)
	}
	env := append(os.Environ(), envHandedOver+"="+buildID(build))
	return execHelper(path, args, env)
}

// checkHandedOver refuses a command line handed over by a quickscale of
// another version, and keeps the variable from the programs this one runs.
func checkHandedOver(build buildinfo.Info) error {
	by, ok := os.LookupEnv(envHandedOver)
	if !ok {
		return nil
	}
	os.Unsetenv(envHandedOver)
	if id := buildID(build); by != id {
		return fmt.Errorf("%s is %s, but the quickscale that started it is %s; %s", HelperName, id, by, installHint)
	}
	return nil
}

// installHint says how to install quickscale and its helper together.
const installHint = "install both programs together: `make install` in a checkout, or unpack both from one release archive"

// buildID names a build: two programs built from the same tree have the same.
func buildID(b buildinfo.Info) string {
	return strings.Join(strings.Split(strings.TrimSpace(versionText(b)), "\n"), ", ")
}
