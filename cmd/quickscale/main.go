// Command quickscale creates and runs Go SaaS applications.
package main

import (
	"os"

	"github.com/quickscale/quickscale/commands"
)

func main() { os.Exit(int(commands.Main())) }
