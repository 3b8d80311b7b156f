package generator

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testRewriter() rewriter {
	return rewriter{from: "example.com/skeleton", to: "example.org/my-app", stamps: map[string]string{
		"appName": "my-app", "templateVersion": "7", "quickscaleVersion": "v1.2.3",
	}}
}

func TestRewriteGoFileImports(t *testing.T) {
	src := `package x

import (
	"fmt"

	_ "example.com/skeleton"
	"example.com/skeleton/internal/a"
	b "example.com/skeleton/internal/b"
	"example.com/skeletonx/c"
)

// The path example.com/skeleton/internal/a in a comment stays.
var s = "example.com/skeleton/internal/a"
`
	want := `package x

import (
	"fmt"

	_ "example.org/my-app"
	"example.org/my-app/internal/a"
	b "example.org/my-app/internal/b"
	"example.com/skeletonx/c"
)

// The path example.com/skeleton/internal/a in a comment stays.
var s = "example.com/skeleton/internal/a"
`
	got, err := testRewriter().goFile("internal/x/x.go", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
}

func TestRewriteGoFileLeavesOtherFilesAlone(t *testing.T) {
	src := []byte("package x\n\nimport \"fmt\"\n\nvar _ = fmt.Sprint\n")
	got, err := testRewriter().goFile("internal/x/x.go", src)
	require.NoError(t, err)
	assert.Equal(t, src, got)
}

func TestRewriteMainFileStamps(t *testing.T) {
	src := "package main\n\nconst appName = \"skeleton\"\n\nconst (\n\ttemplateVersion   = \"0\"\n\tquickscaleVersion = `dev`\n)\n\nconst usage = \"Usage: \" + appName\n"
	want := "package main\n\nconst appName = \"my-app\"\n\nconst (\n\ttemplateVersion   = \"7\"\n\tquickscaleVersion = \"v1.2.3\"\n)\n\nconst usage = \"Usage: \" + appName\n"
	got, err := testRewriter().goFile(mainFile, []byte(src))
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
}

func TestRewriteMainFileRefusesMissingOrOddStamps(t *testing.T) {
	stamps := "const (\n\ttemplateVersion   = \"0\"\n\tquickscaleVersion = \"dev\"\n)\n"
	cases := map[string]struct{ src, want string }{
		"missing":    {"package main\n\n" + stamps, "want one const appName"},
		"twice":      {"package main\n\nconst appName = \"a\"\n\nfunc f() {}\n\nconst appName = \"b\"\n" + stamps, "found 2"},
		"computed":   {"package main\n\nconst appName = \"a\" + \"b\"\n" + stamps, "string literal"},
		"not string": {"package main\n\nconst appName = 1\n" + stamps, "string literal"},
		"no value":   {"package main\n\nconst (\n\tx = \"a\"\n\tappName\n)\n" + stamps, "string literal"},
		"not Go":     {"package main\n\nconst appName = \n", "cmd/skeleton/main.go:"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := testRewriter().goFile(mainFile, []byte(c.src))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestRewriteGoMod(t *testing.T) {
	src := "// The skeleton's module.\nmodule example.com/skeleton // in place\n\ngo 1.27.3\n\nrequire example.com/skeletonx v1.0.0\n"
	want := "// The skeleton's module.\nmodule example.org/my-app // in place\n\ngo 1.27.3\n\nrequire example.com/skeletonx v1.0.0\n"
	got, err := testRewriter().goMod([]byte(src))
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
}

// TestPackedSkeletonIsCurrent catches a quickscale built from an archive
// older than the skeleton in the tree: every other test of the real
// skeleton reads the tree, but init writes the archive.
func TestPackedSkeletonIsCurrent(t *testing.T) {
	o := goldenOptions("sqlite")
	packed, err := Render(o)
	require.NoError(t, err)
	o.Random = fixedRandom(42)
	tree, err := RenderTree(skeletonDir, o)
	require.NoError(t, err)
	const fix = "; run `make assets` to pack the skeleton again"
	require.Equal(t, paths(tree), paths(packed), "the packed skeleton's files differ from templates/skeleton"+fix)
	var stale []string
	for i, f := range tree {
		if !bytes.Equal(f.Data, packed[i].Data) {
			stale = append(stale, f.Path)
		}
	}
	assert.Empty(t, stale, "packed files older than templates/skeleton: "+strings.Join(stale, ", ")+fix)
}
