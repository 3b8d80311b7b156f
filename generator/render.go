package generator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"text/template"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/project"
	"github.com/quickscale/quickscale/internal/skeletonpack"
	"github.com/quickscale/quickscale/templates"
)

// Data is what skeleton templates see.
type Data struct {
	Name, Module, DB  string
	TemplateVersion   int
	QuickscaleVersion string
	// Secrets is set only while rendering the .env template, so a secret can
	// never leak into a file that gets committed; elsewhere it is nil and
	// using it fails the render.
	Secrets *Secrets
}

// Secrets are generated afresh for every render.
type Secrets struct {
	SecretKey        string // 64 hex characters
	PostgresPassword string // 32 hex characters
}

// File is one rendered file; Path is slash-separated and relative.
type File struct {
	Path string
	Mode fs.FileMode
	Data []byte
}

const (
	tmplSuffix  = ".tmpl"
	dotPrefix   = "dot-"
	envFile     = ".env"
	fileMode    = fs.FileMode(0o644)
	execMode    = fs.FileMode(0o755)
	secretMode  = fs.FileMode(0o600)
	scriptsDir  = "scripts/"
	shellSuffix = ".sh"
)

// presetOnly names the skeleton files (by their path in the skeleton) that
// belong to one database preset only; a key ending in "/" names a whole
// directory. Every other file belongs to all presets.
var presetOnly = map[string]string{}

// presetOf reports the one preset the skeleton file p belongs to, if any.
func presetOf(table map[string]string, p string) (db string, ok bool) {
	if db, ok := table[p]; ok {
		return db, true
	}
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if db, ok := table[dir+"/"]; ok {
			return db, true
		}
	}
	return "", false
}

// source is where a render reads from; tests substitute other trees.
type source struct {
	skeleton fs.FS
	// paths, when set, are the files of skeleton to render; otherwise every
	// file in it is.
	paths      []string
	presetOnly map[string]string
}

var embedded = source{skeleton: templates.Skeleton, presetOnly: presetOnly}

// Render validates o and returns the project's files sorted by path. For a
// fixed o.Random the result is the same byte for byte.
func Render(o Options) ([]File, error) {
	return render(embedded, o)
}

// RenderTree is Render from the skeleton as it stands in dir (a checkout's
// templates/skeleton) instead of the packed copy quickscale embeds, less
// what the skeleton's .gitignore ignores: the files a packer would pack.
// Tests compare what init writes with it.
func RenderTree(dir string, o Options) ([]File, error) {
	paths, err := skeletonpack.Files(dir)
	if err != nil {
		return nil, err
	}
	return render(source{skeleton: os.DirFS(dir), paths: paths, presetOnly: presetOnly}, o)
}

func render(src source, o Options) ([]File, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	secrets, err := newSecrets(o.Random)
	if err != nil {
		return nil, err
	}
	data := Data{Name: o.Name, Module: o.Module, DB: o.DB, TemplateVersion: TemplateVersion, QuickscaleVersion: o.QuickscaleVersion}
	rw, err := newRewriter(src.skeleton, data)
	if err != nil {
		return nil, fmt.Errorf("render skeleton: %w", err)
	}

	all, err := src.files()
	if err != nil {
		return nil, fmt.Errorf("render skeleton: %w", err)
	}
	var paths []string
	for _, p := range all {
		if db, ok := presetOf(src.presetOnly, p); !ok || db == o.DB {
			paths = append(paths, p)
		}
	}
	if err := checkVendored(paths); err != nil {
		return nil, err
	}
	files, err := renderAll(src.skeleton, paths, rw, o.Name, data, secrets)
	if err != nil {
		return nil, fmt.Errorf("render skeleton: %w", err)
	}
	files = append(files, File{Path: project.FileName, Mode: fileMode, Data: project.Encode(project.Marker{
		Name: o.Name, Module: o.Module, DB: o.DB, TemplateVersion: TemplateVersion, QuickscaleVersion: o.QuickscaleVersion,
	})})

	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	if err := checkRendered(files, secrets, o.DB); err != nil {
		return nil, err
	}
	return files, nil
}

// files lists the skeleton files in path order.
func (src source) files() ([]string, error) {
	if src.paths != nil {
		return src.paths, nil
	}
	var paths []string
	err := fs.WalkDir(src.skeleton, ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
		case !d.Type().IsRegular():
			return fmt.Errorf("skeleton %s is not a regular file", p)
		default:
			paths = append(paths, p)
		}
		return nil
	})
	slices.Sort(paths)
	return paths, err
}

func newSecrets(random io.Reader) (Secrets, error) {
	if random == nil {
		random = rand.Reader
	}
	key := make([]byte, 32)
	pw := make([]byte, 16)
	if _, err := io.ReadFull(random, key); err != nil {
		return Secrets{}, fmt.Errorf("generate secret key: %w", err)
	}
	if _, err := io.ReadFull(random, pw); err != nil {
		return Secrets{}, fmt.Errorf("generate database password: %w", err)
	}
	return Secrets{SecretKey: hex.EncodeToString(key), PostgresPassword: hex.EncodeToString(pw)}, nil
}

// renderAll renders the skeleton files at paths, stopping at the first
// error in path order.
//
// Go files are not run through gofmt here: TestRewrittenSkeletonIsGofmtClean
// holds the rewrite to gofmt's output for extreme names and module paths,
// which keeps formatting (most of a render's time otherwise) out of every
// init.
func renderAll(skeleton fs.FS, paths []string, rw rewriter, name string, data Data, secrets Secrets) ([]File, error) {
	files := make([]File, len(paths))
	for i, p := range paths {
		f, err := renderFile(skeleton, p, rw, name, data, secrets)
		if err != nil {
			return nil, err
		}
		files[i] = f
	}
	return files, nil
}

// renderFile makes one project file from the skeleton file src: a template
// is executed, go.mod and Go source are rewritten for the project's module,
// anything else is copied byte for byte.
func renderFile(skeleton fs.FS, src string, rw rewriter, name string, data Data, secrets Secrets) (File, error) {
	raw, err := fs.ReadFile(skeleton, src)
	if err != nil {
		return File{}, err
	}
	out := outputPath(src, name)
	f := File{Path: out, Mode: modeFor(out), Data: raw}
	switch {
	case strings.HasSuffix(src, tmplSuffix):
		if out == envFile {
			data.Secrets = &secrets
		}
		f.Data, err = execute(src, raw, data)
	case src == goModFile:
		f.Data, err = rw.goMod(raw)
	case strings.HasSuffix(src, ".go"):
		f.Data, err = rw.goFile(src, raw)
	}
	return f, err
}

func execute(src string, raw []byte, data Data) ([]byte, error) {
	t, err := template.New(src).Option("missingkey=error").Parse(string(raw))
	if err != nil {
		return nil, err // text/template's message names the file and line
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		if data.Secrets == nil && strings.Contains(err.Error(), "Secrets") {
			return nil, fmt.Errorf("template %s uses .Secrets, which only %s%s may use: %w", src, dotPrefix+"env", tmplSuffix, err)
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

// outputPath applies the skeleton's naming conventions: cmd/skeleton
// becomes cmd/<name>, a dot- prefix becomes ".", .tmpl is dropped.
func outputPath(src, name string) string {
	src = strings.TrimSuffix(src, tmplSuffix)
	if rest, ok := strings.CutPrefix(src, skeletonCmd+"/"); ok {
		src = "cmd/" + name + "/" + rest
	}
	parts := strings.Split(src, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, dotPrefix) && len(p) > len(dotPrefix) {
			parts[i] = "." + strings.TrimPrefix(p, dotPrefix)
		}
	}
	return strings.Join(parts, "/")
}

// modeFor marks scripts executable (anything under scripts/ and any .sh
// file) and keeps .env, which holds the secrets, private to its owner.
func modeFor(p string) fs.FileMode {
	switch {
	case p == envFile:
		return secretMode
	case strings.HasPrefix(p, scriptsDir) || strings.HasSuffix(p, shellSuffix):
		return execMode
	}
	return fileMode
}

// checkVendored makes sure the skeleton carries the front-end files, which
// `make assets` fetches into it before packing.
func checkVendored(paths []string) error {
	for _, name := range appcontract.VendoredFiles() {
		if !slices.Contains(paths, path.Join(appcontract.VendorDir, name)) {
			return fmt.Errorf("front-end asset %s is missing from this quickscale build; rebuild quickscale after running `make assets`", name)
		}
	}
	return nil
}
