// Package security holds no code: its test keeps SECURITY.md true.
package security

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testRef is a test that SECURITY.md names: the package pattern it sits
// in, as on the go test command line ("./internal/web", "./cmd/..."), and
// its name.
type testRef struct {
	pattern string
	name    string
}

// control is one numbered control of SECURITY.md and the tests its
// "Tests:" line names; noneYet is set when that line says there are none.
type control struct {
	number  int
	title   string
	tests   []testRef
	noneYet bool
	lines   int // how many "Tests:" lines it has
}

var (
	controlHeading = regexp.MustCompile(`^### (\d+)\. (.+)$`)
	testsSegment   = regexp.MustCompile("^in `(\\./[^`]+)`(?: \\(tag `\\w+`\\))?: (.+)$")
	testName       = regexp.MustCompile("`(Test\\w+)`")
	// A test's doc comment cites controls as "Row 10", "Rows 3, 7 and 15"
	// or "SECURITY.md row 11".
	rowCitation = regexp.MustCompile(`(?i)\brows?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)`)
	rowNumber   = regexp.MustCompile(`\d+`)
)

// TestSecurityDocumentIsTrue: SECURITY.md numbers its controls 1, 2, 3…
// without a gap, each has one "Tests:" line, every test it names exists in
// the package it names, and every test whose doc comment cites a row is
// listed under that row. A renamed, moved or deleted test fails here until
// the document follows.
func TestSecurityDocumentIsTrue(t *testing.T) {
	controls, others := readSecurityDocument(t, "SECURITY.md")
	require.NotEmpty(t, controls, "SECURITY.md lists no control (### N. Title)")
	funcs := testFuncs(t)

	for i, c := range controls {
		assert.Equal(t, i+1, c.number, "SECURITY.md: control %q is numbered %d, want %d: the numbers are cited by tests and must not move", c.title, c.number, i+1)
		assert.Equal(t, 1, c.lines, "SECURITY.md control %d has %d \"Tests:\" lines, want 1", c.number, c.lines)
		assert.True(t, c.noneYet != (len(c.tests) > 0), "SECURITY.md control %d must name its tests or say \"Tests: none yet: <why>\"", c.number)
	}
	for _, ref := range append(others, allTests(controls)...) {
		assert.True(t, funcs.has(ref), "SECURITY.md names %s in %s, which has no such test", ref.name, ref.pattern)
	}

	for _, f := range funcs {
		for _, number := range f.cites {
			require.Truef(t, number >= 1 && number <= len(controls),
				"%s (%s) cites row %d, which SECURITY.md does not have", f.name, f.dir, number)
			c := controls[number-1]
			listed := false
			for _, ref := range c.tests {
				listed = listed || (ref.name == f.name && matches(ref.pattern, f.dir))
			}
			assert.True(t, listed, "%s (%s) cites row %d, but SECURITY.md control %d (%s) does not list it", f.name, f.dir, number, number, c.title)
		}
	}
}

// readSecurityDocument parses the numbered controls, and the tests named
// outside any control (others).
func readSecurityDocument(t *testing.T, path string) (controls []control, others []testRef) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var current *control
	var testsLine *strings.Builder // the "Tests:" paragraph being read
	finish := func() {
		if testsLine == nil {
			return
		}
		refs, none := parseTestsLine(t, testsLine.String())
		testsLine = nil
		if current == nil {
			others = append(others, refs...)
			return
		}
		current.tests = append(current.tests, refs...)
		current.noneYet = current.noneYet || none
		current.lines++
	}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case strings.HasPrefix(line, "#"):
			finish()
			current = nil
			if m := controlHeading.FindStringSubmatch(line); m != nil {
				number, _ := strconv.Atoi(m[1])
				controls = append(controls, control{number: number, title: m[2]})
				current = &controls[len(controls)-1]
			}
		case strings.HasPrefix(line, "Tests:"):
			finish()
			testsLine = new(strings.Builder)
			testsLine.WriteString(strings.TrimSpace(strings.TrimPrefix(line, "Tests:")))
		case strings.TrimSpace(line) == "":
			finish()
		case testsLine != nil:
			testsLine.WriteString(" " + strings.TrimSpace(line))
		}
	}
	require.NoError(t, scanner.Err())
	finish()
	return controls, others
}

// parseTestsLine reads "in `./pkg`: `TestA`, `TestB`; in `./cmd/...` (tag
// `browser`): `TestC`" or "none yet: <why>".
func parseTestsLine(t *testing.T, text string) (refs []testRef, noneYet bool) {
	t.Helper()
	if why, ok := strings.CutPrefix(text, "none yet:"); ok {
		assert.NotEmpty(t, strings.TrimSpace(why), "SECURITY.md: %q must say why there is no test", text)
		return nil, true
	}
	for _, segment := range strings.Split(strings.TrimSuffix(text, "."), ";") {
		m := testsSegment.FindStringSubmatch(strings.TrimSpace(segment))
		if !assert.NotNil(t, m, "SECURITY.md: %q is not of the form in `./package`: `TestName`, …", segment) {
			continue
		}
		names := testName.FindAllStringSubmatch(m[2], -1)
		assert.NotEmpty(t, names, "SECURITY.md: %q names no test", segment)
		for _, n := range names {
			refs = append(refs, testRef{pattern: m[1], name: n[1]})
		}
	}
	return refs, false
}

func allTests(controls []control) []testRef {
	var refs []testRef
	for _, c := range controls {
		refs = append(refs, c.tests...)
	}
	return refs
}

// testFunc is a Test function of the module: its package directory
// (slash-separated, relative to the module root), its name and the rows
// its doc comment cites.
type testFunc struct {
	dir   string
	name  string
	cites []int
}

type testFuncList []testFunc

func (l testFuncList) has(ref testRef) bool {
	for _, f := range l {
		if f.name == ref.name && matches(ref.pattern, f.dir) {
			return true
		}
	}
	return false
}

// matches reports whether the package pattern ("./internal/web",
// "./cmd/...") covers dir.
func matches(pattern, dir string) bool {
	pattern = strings.TrimPrefix(pattern, "./")
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return dir == prefix || strings.HasPrefix(dir, prefix+"/")
	}
	return dir == pattern
}

// testFuncs parses every _test.go file of the module, whatever its build
// tags.
func testFuncs(t *testing.T) testFuncList {
	t.Helper()
	var funcs testFuncList
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			tf := testFunc{dir: filepath.ToSlash(filepath.Dir(path)), name: fn.Name.Name}
			for _, m := range rowCitation.FindAllStringSubmatch(fn.Doc.Text(), -1) {
				for _, n := range rowNumber.FindAllString(m[1], -1) {
					number, _ := strconv.Atoi(n)
					tf.cites = append(tf.cites, number)
				}
			}
			funcs = append(funcs, tf)
		}
		return nil
	})
	require.NoError(t, err)
	return funcs
}
