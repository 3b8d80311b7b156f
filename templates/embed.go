// Package templates holds what quickscale writes into a new project: the
// application skeleton and the third-party front-end assets.
package templates

import (
	"embed"
	"io/fs"
)

// The all: prefix keeps files whose names start with "_" or "." (such as
// __name__ directories); without it go:embed silently drops them.
//
//go:embed all:skeleton
var skeleton embed.FS

// Each asset is named on its own so that a partial dist directory fails the
// build as well as a missing one.
//
// If the build stops here with "no matching files found", the front-end assets are missing: run `make assets`.
//
//go:embed frontend/dist/htmx.min.js frontend/dist/alpine-csp.min.js frontend/dist/bulma.min.css frontend/dist/LICENSE-htmx frontend/dist/LICENSE-alpine frontend/dist/LICENSE-bulma
var frontend embed.FS

// Skeleton is the generated project, file for file, rooted at skeleton/. See
// docs/ARCHITECTURE.md for the naming conventions the generator applies.
var Skeleton = mustSub(skeleton, "skeleton")

// Frontend holds htmx, Alpine's CSP build, Bulma and their licences, rooted at
// frontend/dist/.
var Frontend = mustSub(frontend, "frontend/dist")

// mustSub panics only if dir is not a valid path, which the constants above
// rule out at compile time in practice.
func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic("templates: " + err.Error())
	}
	return sub
}
