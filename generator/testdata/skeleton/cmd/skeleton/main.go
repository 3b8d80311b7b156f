// Command skeleton prints the name of its app.
package main

import (
	"fmt"

	"example.com/skeleton/internal/app"
	other "example.com/skeletonx/lib"
)

const appName = "skeleton"

const (
	templateVersion   = "0"
	quickscaleVersion = "dev"
)

func main() { fmt.Println(appName, templateVersion, quickscaleVersion, app.Module, other.X) }
