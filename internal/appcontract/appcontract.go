// Package appcontract declares, once, what quickscale relies on in the app
// it generates: where the app serves, how it says it is ready, where its
// binary sits in the image, which Go toolchain builds it, and which
// front-end files it must carry. The skeleton in templates/skeleton is the
// other side of each promise; this package's test reads it and fails,
// naming the file, when the two disagree.
package appcontract

import "strings"

// HTTPPort is the port the app serves HTTP on: the default of its HTTP_ADDR,
// the port its image exposes, and the host port compose publishes it on
// when APP_PORT is unset.
const HTTPPort = 8000

// ReadinessPath answers 200 once the app can serve: its database answers
// and its schema is the one the binary expects.
const ReadinessPath = "/readyz"

// ImageBinary is the app's binary inside its image, and the image's
// entrypoint: the path a command run in the app's container starts with.
const ImageBinary = "/app"

// GoToolchain is the Go toolchain that builds and tests the app: the go
// line of its go.mod asks for it, and older toolchains carry
// standard-library vulnerabilities.
const GoToolchain = "go1.27.3"

// VendorDir is where the app keeps its third-party front-end files, as a
// slash-separated path from the project root.
const VendorDir = "internal/web/static/vendor"

// vendoredFiles are the files every project needs in VendorDir: the
// third-party code it serves and the licence of each.
var vendoredFiles = []string{
	"htmx.min.js", "alpine-csp.min.js", "bulma.min.css",
	"LICENSE-htmx", "LICENSE-alpine", "LICENSE-bulma",
}

// licencePrefix starts the name of each licence file in VendorDir.
const licencePrefix = "LICENSE-"

// VendoredFiles returns the names of the files every project needs in
// VendorDir; a quickscale whose packed skeleton lacks one must not produce
// projects.
func VendoredFiles() []string {
	return append([]string(nil), vendoredFiles...)
}

// ServedVendoredFiles returns the VendoredFiles the app serves to browsers,
// the licences left out.
func ServedVendoredFiles() []string {
	var served []string
	for _, name := range vendoredFiles {
		if !strings.HasPrefix(name, licencePrefix) {
			served = append(served, name)
		}
	}
	return served
}
