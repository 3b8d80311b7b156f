package project

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sample = Marker{Name: "my-app", Module: "example.com/my-app", DB: "sqlite", TemplateVersion: 1, QuickscaleVersion: "v0.1.0"}

func writeMarker(t *testing.T, dir string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), data, 0o644))
}

func TestEncodeMatchesDocumentedFormat(t *testing.T) {
	want := `# Written by quickscale init; quickscale finds the project through this file.
name: my-app
module: example.com/my-app
db: sqlite
template_version: 1
quickscale_version: v0.1.0
`
	require.Equal(t, want, string(Encode(sample)), "Encode")
}

func TestEncodeQuotesValuesYAMLWouldMisread(t *testing.T) {
	m := sample
	m.Name = "yes"
	m.QuickscaleVersion = "1.10"
	dir := t.TempDir()
	writeMarker(t, dir, Encode(m))
	got, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, m, got, "round trip: got %+v, want %+v", got, m)
}

func TestFindFromNestedSubdirectory(t *testing.T) {
	root := t.TempDir()
	writeMarker(t, root, Encode(sample))
	nested := filepath.Join(root, "internal", "web", "static")
	require.NoError(t, os.MkdirAll(nested, 0o755))
	for _, start := range []string{root, nested} {
		gotRoot, m, err := Find(start)
		require.NoError(t, err, "Find(%s)", start)
		require.Equal(t, root, gotRoot, "Find(%s)'s root", start)
		require.Equal(t, sample, m, "Find(%s)'s marker", start)
	}
}

func TestFindRelativeStartDir(t *testing.T) {
	root := t.TempDir()
	writeMarker(t, root, Encode(sample))
	require.NoError(t, os.Mkdir(filepath.Join(root, "sub"), 0o755))
	t.Chdir(filepath.Join(root, "sub"))
	gotRoot, _, err := Find(".")
	require.NoError(t, err)
	require.Equal(t, root, gotRoot, "Find(.) = %s, want %s", gotRoot, root)
}

func TestFindNearestMarkerWins(t *testing.T) {
	outer := t.TempDir()
	writeMarker(t, outer, Encode(sample))
	inner := filepath.Join(outer, "other")
	require.NoError(t, os.Mkdir(inner, 0o755))
	other := sample
	other.Name = "other"
	writeMarker(t, inner, Encode(other))
	gotRoot, m, err := Find(inner)
	require.NoError(t, err)
	require.Equal(t, inner, gotRoot, "Find's root")
	require.Equal(t, "other", m.Name, "Find's marker")
}

func TestFindOutsideProject(t *testing.T) {
	// t.TempDir lives under the system temp directory, which no test run
	// should have turned into a project.
	start := t.TempDir()
	_, _, err := Find(start)
	var npe *NotProjectError
	require.ErrorAs(t, err, &npe, "Find outside a project: %v, want *NotProjectError", err)
	msg := err.Error()
	for _, want := range []string{start, "quickscale init <name>", "inside a project directory"} {
		assert.Contains(t, msg, want, "message %q lacks %q", msg, want)
	}
}

func TestLoadAcceptsFieldsFromNewerVersions(t *testing.T) {
	dir := t.TempDir()
	writeMarker(t, dir, append(Encode(sample), "features: [billing]\n"...))
	m, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, sample, m, "Load = %+v, want %+v", m, sample)
}

func TestLoadMissingIsNotProject(t *testing.T) {
	_, err := Load(t.TempDir())
	var npe *NotProjectError
	require.ErrorAs(t, err, &npe, "Load: %v, want *NotProjectError", err)
}

func TestCorruptMarker(t *testing.T) {
	cases := map[string]string{
		"not yaml":        "name: [unclosed\n",
		"not a mapping":   "- a\n- b\n",
		"misspelt key":    "name: x\nmodule: example.com/x\ndb: sqlite\ntemplat_version: 1\n",
		"missing name":    "module: example.com/x\ndb: sqlite\ntemplate_version: 1\n",
		"missing module":  "name: x\ndb: sqlite\ntemplate_version: 1\n",
		"missing db":      "name: x\nmodule: example.com/x\ntemplate_version: 1\n",
		"zero version":    "name: x\nmodule: example.com/x\ndb: sqlite\ntemplate_version: 0\n",
		"version not int": "name: x\nmodule: example.com/x\ndb: sqlite\ntemplate_version: one\n",
		"empty file":      "",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			writeMarker(t, root, []byte(content))
			sub := filepath.Join(root, "sub")
			require.NoError(t, os.Mkdir(sub, 0o755))
			_, _, err := Find(sub)
			var ime *InvalidMarkerError
			require.ErrorAs(t, err, &ime, "Find with corrupt marker: %v, want *InvalidMarkerError", err)
			require.Equal(t, filepath.Join(root, FileName), ime.Path, "unhelpful error: %v", err)
			require.Contains(t, err.Error(), "fix the file", "unhelpful error")
		})
	}
}

func TestMarkerThatIsADirectory(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, FileName), 0o755))
	_, _, err := Find(root)
	var ime *InvalidMarkerError
	require.ErrorAs(t, err, &ime, "Find: %v, want *InvalidMarkerError", err)
}
