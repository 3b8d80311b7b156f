// Command quickscale creates and runs Go SaaS applications.
//
// It does not link the Docker Engine client: its Docker commands run in
// quickscale-docker (cmd/quickscale-docker), installed beside it. That
// client's package initialisation, done at every start whether a command
// uses it or not, took 13 ms of the 23 ms `quickscale version` took, and its
// 550 packages tripled the binary; a test keeps them out.
package main

import (
	"os"

	"github.com/quickscale/quickscale/commands"
)

func main() { os.Exit(int(commands.Main(nil))) }
