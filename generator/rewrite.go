package generator

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// The skeleton is a Go module that builds and tests in place. A project is
// a copy of it with these few things rewritten, the way gonew copies a
// template module.
const (
	goModFile = "go.mod"
	// skeletonCmd is the skeleton's command directory; a project's is
	// cmd/<name>.
	skeletonCmd = "cmd/skeleton"
	// mainFile declares the stamps: constants whose values the generator
	// writes.
	mainFile = skeletonCmd + "/main.go"
)

// stampNames are the constants in mainFile that every project gets its own
// values for.
var stampNames = []string{"appName", "templateVersion", "quickscaleVersion"}

// rewriter turns skeleton Go source into project source.
type rewriter struct {
	from, to string            // module paths: the skeleton's, the project's
	stamps   map[string]string // constant name → value, for mainFile
}

func newRewriter(skeleton fs.FS, data Data) (rewriter, error) {
	raw, err := fs.ReadFile(skeleton, goModFile)
	if err != nil {
		return rewriter{}, fmt.Errorf("the skeleton has no %s: %w", goModFile, err)
	}
	from := modfile.ModulePath(raw)
	if from == "" {
		return rewriter{}, fmt.Errorf("the skeleton's %s declares no module path", goModFile)
	}
	if _, err := fs.Stat(skeleton, mainFile); err != nil {
		return rewriter{}, fmt.Errorf("the skeleton has no %s, where the project's name is written: %w", mainFile, err)
	}
	return rewriter{from: from, to: data.Module, stamps: map[string]string{
		"appName":           data.Name,
		"templateVersion":   strconv.Itoa(data.TemplateVersion),
		"quickscaleVersion": data.QuickscaleVersion,
	}}, nil
}

// edit replaces src[start:end].
type edit struct {
	start, end int
	text       string
}

func apply(src []byte, edits []edit) []byte {
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	var out bytes.Buffer
	out.Grow(len(src) + 64*len(edits))
	last := 0
	for _, e := range edits {
		out.Write(src[last:e.start])
		out.WriteString(e.text)
		last = e.end
	}
	out.Write(src[last:])
	return out.Bytes()
}

// goMod rewrites the module line of go.mod and nothing else.
func (rw rewriter) goMod(src []byte) ([]byte, error) {
	f, err := modfile.ParseLax(goModFile, src, nil)
	if err != nil {
		return nil, fmt.Errorf("skeleton %s: %w", goModFile, err)
	}
	line := f.Module.Syntax
	return apply(src, []edit{{line.Start.Byte, line.End.Byte, "module " + modfile.AutoQuote(rw.to)}}), nil
}

// goFile rewrites the import paths under the skeleton's module and, in
// mainFile, the stamps. Everything else, including a string that merely
// contains the module path, is left byte for byte.
//
// Imports stay sorted as gofmt wants them: the skeleton keeps its own
// imports in a group of their own, so replacing their common prefix cannot
// reorder them (TestRewrittenSkeletonIsGofmtClean holds it to that).
func (rw rewriter) goFile(name string, src []byte) ([]byte, error) {
	isMain := name == mainFile
	if !isMain && !bytes.Contains(src, []byte(rw.from)) {
		return src, nil
	}
	mode := parser.ImportsOnly | parser.SkipObjectResolution
	if isMain {
		mode = parser.SkipObjectResolution
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, mode)
	if err != nil {
		return nil, fmt.Errorf("skeleton %v", err) // the parser's message names the file and line
	}
	offset := func(p token.Pos) int { return fset.Position(p).Offset }
	var edits []edit
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, fmt.Errorf("skeleton %s: import %s: %w", name, imp.Path.Value, err)
		}
		if p == rw.from || strings.HasPrefix(p, rw.from+"/") {
			edits = append(edits, edit{offset(imp.Path.Pos()), offset(imp.Path.End()), strconv.Quote(rw.to + p[len(rw.from):])})
		}
	}
	if isMain {
		for _, c := range stampNames {
			lit, err := stampLiteral(f, c)
			if err != nil {
				return nil, fmt.Errorf("skeleton %s: %w", name, err)
			}
			edits = append(edits, edit{offset(lit.Pos()), offset(lit.End()), strconv.Quote(rw.stamps[c])})
		}
	}
	return apply(src, edits), nil
}

// stampLiteral finds the string literal that the constant name is declared
// with, which must be exactly one.
func stampLiteral(f *ast.File, name string) (*ast.BasicLit, error) {
	var found []*ast.BasicLit
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if id.Name != name {
					continue
				}
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						found = append(found, lit)
						continue
					}
				}
				return nil, fmt.Errorf("const %s must be declared with a string literal: the generator writes the project's value there", name)
			}
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("want one const %s declared with a string literal, found %d: the generator writes the project's value there", name, len(found))
	}
	return found[0], nil
}
