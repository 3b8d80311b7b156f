// Command quickscale-docker is quickscale with the Docker Engine client
// linked in: quickscale hands it the Docker commands (up, build, logs...),
// and it runs every other command the same way. It is installed beside
// quickscale; see cmd/quickscale for why they are two programs.
package main

import (
	"os"

	"github.com/quickscale/quickscale/commands"
	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/docker/engine"
)

func main() { os.Exit(int(commands.Main(connect))) }

func connect(streams docker.Streams) (docker.Engine, error) {
	e, err := engine.Connect(streams)
	if err != nil {
		return nil, err // not a nil *Compose inside a non-nil Engine
	}
	return e, nil
}
