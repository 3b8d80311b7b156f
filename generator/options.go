// Package generator turns Options into the files of a new project and writes
// them atomically. Rendering is pure (Render); writing is a separate step
// with its own policy (Write).
package generator

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/module"
)

// TemplateVersion identifies the skeleton's layout. It is recorded in every
// project's marker so later quickscale versions know what they are facing;
// raise it when a generated project's structure changes incompatibly.
const TemplateVersion = 1

// DBs lists the database presets, the default first.
var DBs = []string{"sqlite", "postgres"}

// defaultModulePrefix is used when the user configured no module prefix. A
// module path needs a dot in its first element; example.com is reserved for
// exactly this purpose and never resolves to someone else's code.
const defaultModulePrefix = "example.com"

const (
	minNameLen = 2
	maxNameLen = 40
)

// Options describe the project to generate.
type Options struct {
	Name, Module, DB  string
	QuickscaleVersion string
	// Random is the source of the generated secrets; nil means crypto/rand.
	// Tests inject a fixed reader to make renders reproducible.
	Random io.Reader
}

// InputError is a problem with what the user asked for. Field names the
// input ("name", "module", "db", "target") so a caller can point at the flag
// or argument.
type InputError struct {
	Field, Problem, Fix string
}

func (e *InputError) Error() string { return e.Problem + "; " + e.Fix }

// DefaultModule returns the module path used when the user gives none:
// prefix/name, with example.com as the prefix when prefix is empty.
func DefaultModule(prefix, name string) string {
	prefix = strings.TrimRight(strings.TrimSpace(prefix), "/")
	if prefix == "" {
		prefix = defaultModulePrefix
	}
	return prefix + "/" + name
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// ValidateName checks a project name. The name becomes a directory, the
// command directory cmd/<name>, the binary, the compose project and the last
// element of the default module path, so it is held to the narrowest rules
// that suit all of them.
func ValidateName(name string) error {
	bad := func(problem string) error {
		return &InputError{Field: "name", Problem: fmt.Sprintf("project name %q %s", name, problem), Fix: `use 2 to 40 lowercase letters, digits and single hyphens, starting with a letter, e.g. "my-app"`}
	}
	switch {
	case name == "":
		return &InputError{Field: "name", Problem: "the project name is empty", Fix: `give a name such as "my-app"`}
	case len(name) < minNameLen:
		return bad(fmt.Sprintf("is shorter than %d characters", minNameLen))
	case len(name) > maxNameLen:
		return bad(fmt.Sprintf("is longer than %d characters", maxNameLen))
	case name[0] < 'a' || name[0] > 'z':
		return bad("does not start with a lowercase letter")
	case !namePattern.MatchString(name):
		return bad("contains characters other than lowercase letters, digits and hyphens")
	case strings.Contains(name, "--"):
		return bad("contains a double hyphen")
	case strings.HasSuffix(name, "-"):
		return bad("ends with a hyphen")
	}
	if why, ok := reservedNames[name]; ok {
		return &InputError{Field: "name", Problem: fmt.Sprintf("project name %q cannot be used: %s", name, why), Fix: fmt.Sprintf("choose another name, e.g. %q", "my-"+name)}
	}
	return nil
}

// ValidateModule checks a Go module path with the same rules as the go
// command, so the generated go.mod is accepted.
func ValidateModule(path string) error {
	if path == "" {
		return &InputError{Field: "module", Problem: "the Go module path is empty", Fix: `give one such as "example.com/my-app" or "github.com/you/my-app"`}
	}
	if err := module.CheckPath(path); err != nil {
		return &InputError{Field: "module", Problem: fmt.Sprintf("%q is not a valid Go module path (%s)", path, moduleProblem(err)), Fix: `use a path such as "example.com/my-app" or "github.com/you/my-app": lowercase, with a dot in the first element`}
	}
	return nil
}

// moduleProblem keeps the reason from module.CheckPath without repeating the
// path it already quotes.
func moduleProblem(err error) string {
	var perr *module.InvalidPathError
	if errors.As(err, &perr) {
		return perr.Err.Error()
	}
	return err.Error()
}

// ValidateDB checks a database preset name.
func ValidateDB(db string) error {
	if slices.Contains(DBs, db) {
		return nil
	}
	return &InputError{Field: "db", Problem: fmt.Sprintf("unknown database %q", db), Fix: "choose one of " + strings.Join(DBs, ", ")}
}

// versionPattern admits release versions, pseudo-versions and Go's
// "(devel)", and nothing that could change the meaning of a rendered file.
// The length is checked apart: a bounded repetition compiles to one copy of
// the class per character, which cost every quickscale start 0.7 ms and
// 1,800 allocations.
var versionPattern = regexp.MustCompile(`^[0-9A-Za-z.+()_-]+$`)

const maxVersionLen = 128

// Validate checks every option; the first problem found is returned.
func (o Options) Validate() error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if err := ValidateModule(o.Module); err != nil {
		return err
	}
	if err := ValidateDB(o.DB); err != nil {
		return err
	}
	if len(o.QuickscaleVersion) > maxVersionLen || !versionPattern.MatchString(o.QuickscaleVersion) {
		// Set by the program, not the user: a plain error, not an InputError.
		return fmt.Errorf("generator: quickscale version %q is empty, longer than %d bytes, or contains characters outside [0-9A-Za-z.+()_-]", o.QuickscaleVersion, maxVersionLen)
	}
	return nil
}
