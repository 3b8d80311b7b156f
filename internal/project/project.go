// Package project reads and writes the project marker, quickscale.yaml, the
// file through which quickscale recognises the root of a generated project.
package project

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// FileName is the marker's name at the project root.
const FileName = "quickscale.yaml"

// header explains the file to whoever opens it; Encode writes it first.
const header = "# Written by quickscale init; quickscale finds the project through this file.\n"

// Marker is what quickscale init records about a project.
type Marker struct {
	Name              string `yaml:"name"`
	Module            string `yaml:"module"`
	DB                string `yaml:"db"`
	TemplateVersion   int    `yaml:"template_version"`
	QuickscaleVersion string `yaml:"quickscale_version"`
}

// Encode returns the marker file's contents.
func Encode(m Marker) []byte {
	body, err := yaml.Marshal(m)
	if err != nil {
		// A struct of strings and an int always marshals; reaching this is a
		// bug in the yaml library, not a user error.
		panic("project: encode marker: " + err.Error())
	}
	return append([]byte(header), body...)
}

// NotProjectError reports that no marker exists in a directory or any of its
// parents.
type NotProjectError struct {
	Dir string // where the search started
}

func (e *NotProjectError) Error() string {
	return fmt.Sprintf("not inside a quickscale project: no %s in %s or any parent directory; run the command inside a project directory, or create a project with `quickscale init <name>`", FileName, e.Dir)
}

// InvalidMarkerError reports a marker that exists but cannot be used.
type InvalidMarkerError struct {
	Path    string
	Problem string
	Err     error // the underlying parse error, if any
}

func (e *InvalidMarkerError) Error() string {
	return fmt.Sprintf("project marker %s is invalid: %s; fix the file or restore it from version control", e.Path, e.Problem)
}

func (e *InvalidMarkerError) Unwrap() error { return e.Err }

// Load reads the marker at the root of dir.
func Load(dir string) (Marker, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Marker{}, &NotProjectError{Dir: dir}
		}
		return Marker{}, fmt.Errorf("read project marker: %w", err)
	}
	return decode(path, data)
}

func decode(path string, data []byte) (Marker, error) {
	var m Marker
	// Unknown keys are accepted: a marker written by a newer quickscale may
	// carry fields this one does not know. A misspelt required key still
	// fails below, as that field is then missing.
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return Marker{}, &InvalidMarkerError{Path: path, Problem: "it is empty"}
		}
		return Marker{}, &InvalidMarkerError{Path: path, Problem: fmt.Sprintf("it is not valid YAML (%v)", err), Err: err}
	}
	switch {
	case m.Name == "":
		return Marker{}, &InvalidMarkerError{Path: path, Problem: "name is missing"}
	case m.Module == "":
		return Marker{}, &InvalidMarkerError{Path: path, Problem: "module is missing"}
	case m.DB == "":
		return Marker{}, &InvalidMarkerError{Path: path, Problem: "db is missing"}
	case m.TemplateVersion < 1:
		return Marker{}, &InvalidMarkerError{Path: path, Problem: "template_version must be a positive integer"}
	}
	return m, nil
}

// Find looks for the marker in startDir and then in each parent up to the
// filesystem root, and returns the directory holding it.
func Find(startDir string) (root string, m Marker, err error) {
	dir, err := filepath.Abs(startDir)
	if err != nil {
		return "", Marker{}, fmt.Errorf("find project from %s: %w", startDir, err)
	}
	for {
		path := filepath.Join(dir, FileName)
		info, err := os.Stat(path)
		switch {
		case err == nil && info.IsDir():
			return "", Marker{}, &InvalidMarkerError{Path: path, Problem: "it is a directory, not a file"}
		case err == nil:
			m, err := Load(dir)
			if err != nil {
				return "", Marker{}, err
			}
			return dir, m, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", Marker{}, fmt.Errorf("look for project marker: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", Marker{}, &NotProjectError{Dir: startDir}
		}
		dir = parent
	}
}
