package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"

	"gotest.tools/v3/assert"
)

func TestResolve(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name            string
		version, commit string
		bi              *debug.BuildInfo
		want            Info
	}{
		{
			name: "no build info at all",
			want: Info{Version: DevVersion},
		},
		{
			name:    "link-time values win",
			version: "v1.2.3", commit: "abc",
			bi:   &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "v9.9.9"}, Settings: vcs("def", "true")},
			want: Info{Version: "v1.2.3", Commit: "abc", GoVersion: "go1.27.3"},
		},
		{
			name: "go install module@version",
			bi:   &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "v0.1.0"}},
			want: Info{Version: "v0.1.0", GoVersion: "go1.27.3"},
		},
		{
			name: "build inside a dirty checkout",
			bi:   &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123456789abcdef", "true")},
			want: Info{Version: DevVersion, Commit: "0123456789abcdef", Modified: true, GoVersion: "go1.27.3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.version, tt.commit, tt.bi)
			tt.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if tt.want.GoVersion == "" {
				tt.want.GoVersion = runtime.Version()
			}
			assert.Equal(t, tt.want, got, "resolve() = %+v, want %+v", got, tt.want)
		})
	}
}

func TestShortCommit(t *testing.T) {
	assert.Equal(t, "0123456789ab", Info{Commit: "0123456789abcdef"}.ShortCommit())
	assert.Equal(t, "abc", Info{Commit: "abc"}.ShortCommit())
}
