package project

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var sample = Marker{Name: "my-app", Module: "example.com/my-app", DB: "sqlite", TemplateVersion: 1, QuickscaleVersion: "v0.1.0"}

func writeMarker(t *testing.T, dir string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeMatchesDocumentedFormat(t *testing.T) {
	want := `# Written by quickscale init; quickscale finds the project through this file.
name: my-app
module: example.com/my-app
db: sqlite
template_version: 1
quickscale_version: v0.1.0
`
	if got := string(Encode(sample)); got != want {
		t.Fatalf("Encode:\n%s\nwant:\n%s", got, want)
	}
}

func TestEncodeQuotesValuesYAMLWouldMisread(t *testing.T) {
	m := sample
	m.Name = "yes"
	m.QuickscaleVersion = "1.10"
	dir := t.TempDir()
	writeMarker(t, dir, Encode(m))
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != m {
		t.Fatalf("round trip: got %+v, want %+v", got, m)
	}
}

func TestFindFromNestedSubdirectory(t *testing.T) {
	root := t.TempDir()
	writeMarker(t, root, Encode(sample))
	nested := filepath.Join(root, "internal", "web", "static")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{root, nested} {
		gotRoot, m, err := Find(start)
		if err != nil {
			t.Fatalf("Find(%s): %v", start, err)
		}
		if gotRoot != root || m != sample {
			t.Fatalf("Find(%s) = %s, %+v; want %s, %+v", start, gotRoot, m, root, sample)
		}
	}
}

func TestFindRelativeStartDir(t *testing.T) {
	root := t.TempDir()
	writeMarker(t, root, Encode(sample))
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(root, "sub"))
	gotRoot, _, err := Find(".")
	if err != nil {
		t.Fatal(err)
	}
	if gotRoot != root {
		t.Fatalf("Find(.) = %s, want %s", gotRoot, root)
	}
}

func TestFindNearestMarkerWins(t *testing.T) {
	outer := t.TempDir()
	writeMarker(t, outer, Encode(sample))
	inner := filepath.Join(outer, "other")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	other := sample
	other.Name = "other"
	writeMarker(t, inner, Encode(other))
	gotRoot, m, err := Find(inner)
	if err != nil {
		t.Fatal(err)
	}
	if gotRoot != inner || m.Name != "other" {
		t.Fatalf("Find = %s, %q; want %s, other", gotRoot, m.Name, inner)
	}
}

func TestFindOutsideProject(t *testing.T) {
	// t.TempDir lives under the system temp directory, which no test run
	// should have turned into a project.
	start := t.TempDir()
	_, _, err := Find(start)
	var npe *NotProjectError
	if !errors.As(err, &npe) {
		t.Fatalf("Find outside a project: %v, want *NotProjectError", err)
	}
	msg := err.Error()
	for _, want := range []string{start, "quickscale init <name>", "inside a project directory"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestLoadAcceptsFieldsFromNewerVersions(t *testing.T) {
	dir := t.TempDir()
	writeMarker(t, dir, append(Encode(sample), "features: [billing]\n"...))
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m != sample {
		t.Fatalf("Load = %+v, want %+v", m, sample)
	}
}

func TestLoadMissingIsNotProject(t *testing.T) {
	_, err := Load(t.TempDir())
	var npe *NotProjectError
	if !errors.As(err, &npe) {
		t.Fatalf("Load: %v, want *NotProjectError", err)
	}
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
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			_, _, err := Find(sub)
			var ime *InvalidMarkerError
			if !errors.As(err, &ime) {
				t.Fatalf("Find with corrupt marker: %v, want *InvalidMarkerError", err)
			}
			if ime.Path != filepath.Join(root, FileName) || !strings.Contains(err.Error(), "fix the file") {
				t.Fatalf("unhelpful error: %v", err)
			}
		})
	}
}

func TestMarkerThatIsADirectory(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err := Find(root)
	var ime *InvalidMarkerError
	if !errors.As(err, &ime) {
		t.Fatalf("Find: %v, want *InvalidMarkerError", err)
	}
}
