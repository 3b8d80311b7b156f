// Package buildinfo reports which quickscale this binary is: its version, the
// commit it was built from and the Go toolchain that built it.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Version and Commit are set at link time by release builds:
//
//	go build -ldflags "-X github.com/quickscale/quickscale/internal/buildinfo.Version=v0.1.0 \
//	  -X github.com/quickscale/quickscale/internal/buildinfo.Commit=$(git rev-parse HEAD)"
//
// Left empty, they fall back to what the Go toolchain recorded in the binary
// (the module version for `go install ...@v0.1.0`, the VCS revision for a
// build inside a checkout).
var (
	Version string
	Commit  string
)

// DevVersion is the version of a binary that carries no version at all: a
// plain `go build` or `go run` in a working tree.
const DevVersion = "dev"

// Info describes one build of quickscale.
type Info struct {
	Version   string // e.g. "v0.1.0", or DevVersion
	Commit    string // full revision, or "" when unknown
	Modified  bool   // built from a working tree with uncommitted changes
	GoVersion string // e.g. "go1.27.3"
	Platform  string // e.g. "linux/amd64"
}

// Get returns the build information of the running binary.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return resolve(Version, Commit, bi)
}

// resolve prefers the link-time values and fills the gaps from the build
// information the toolchain embedded.
func resolve(version, commit string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   version,
		Commit:    commit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		// "(devel)" is what the toolchain records for the main module of a
		// build inside its own checkout: it says nothing useful.
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.modified":
				// Only meaningful when the commit came from the same source.
				info.Modified = commit == "" && s.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = DevVersion
	}
	return info
}

// ShortCommit returns the first 12 characters of the commit, enough to find
// it in any repository of this size.
func (i Info) ShortCommit() string {
	if len(i.Commit) > 12 {
		return i.Commit[:12]
	}
	return i.Commit
}
