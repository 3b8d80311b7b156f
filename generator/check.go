package generator

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/quickscale/quickscale/internal/ignorefile"
	"github.com/quickscale/quickscale/internal/project"
)

// checkPaths rejects a file list that could not be written as one tree under
// the target: empty, absolute, unclean or escaping paths, duplicates, and a
// path that is both a file and a directory.
func checkPaths(files []File) error {
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		p := f.Path
		switch {
		case p == "" || p == ".":
			return fmt.Errorf("rendered file has an empty path")
		case path.IsAbs(p) || strings.Contains(p, `\`):
			return fmt.Errorf("rendered file %q has an absolute or non-slash path", p)
		case path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../"):
			return fmt.Errorf("rendered file %q has a path that is not clean or leaves the project", p)
		case seen[p]:
			return fmt.Errorf("two skeleton files render to %q", p)
		}
		seen[p] = true
	}
	for _, f := range files {
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if seen[dir] {
				return fmt.Errorf("rendered path %q is both a file and the directory of %q", dir, f.Path)
			}
		}
	}
	return nil
}

// checkRendered checks the invariants of a whole project: the marker, and
// secrets that are generated, confined to .env and kept out of git and out
// of the image build context.
func checkRendered(files []File, s Secrets, db string) error {
	if err := checkPaths(files); err != nil {
		return err
	}
	byPath := make(map[string][]byte, len(files))
	for _, f := range files {
		byPath[f.Path] = f.Data
	}
	if _, ok := byPath[project.FileName]; !ok {
		return fmt.Errorf("rendered project lacks its marker %s", project.FileName)
	}
	for _, f := range files {
		if f.Path != envFile && (bytes.Contains(f.Data, []byte(s.SecretKey)) || bytes.Contains(f.Data, []byte(s.PostgresPassword))) {
			return fmt.Errorf("rendered %s contains a generated secret, which belongs only in %s", f.Path, envFile)
		}
	}
	env, ok := byPath[envFile]
	if !ok {
		return fmt.Errorf("rendered project lacks %s, the only file that carries its generated secrets", envFile)
	}
	// The secrets exist only in .env; if they are missing there, the project
	// would start with a default key, the mistake this check exists to stop.
	if !bytes.Contains(env, []byte(s.SecretKey)) {
		return fmt.Errorf("rendered %s does not contain the generated secret key", envFile)
	}
	if db == "postgres" && !bytes.Contains(env, []byte(s.PostgresPassword)) {
		return fmt.Errorf("rendered %s does not contain the generated PostgreSQL password", envFile)
	}
	for _, ignore := range []string{".gitignore", ".dockerignore"} {
		data, ok := byPath[ignore]
		if ignore == ".gitignore" && !ok {
			return fmt.Errorf("rendered project has %s but no .gitignore to keep its secrets out of git", envFile)
		}
		if !ok {
			continue
		}
		if ignored, err := ignores(data, envFile); err != nil {
			return fmt.Errorf("read %s: %w", ignore, err)
		} else if !ignored {
			return fmt.Errorf("rendered %s does not list %s, which holds the project's secrets", ignore, envFile)
		}
	}
	return nil
}

// ignores reports whether an ignore file (.gitignore or .dockerignore)
// excludes the file name at the project root. For a file at the root both
// formats agree: the last matching pattern wins and "!" re-includes.
func ignores(data []byte, name string) (bool, error) {
	rules, err := ignorefile.Parse(data)
	if err != nil {
		return false, err
	}
	return rules.Ignores(name, false), nil
}
