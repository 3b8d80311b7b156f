// Package ignorefile reads the part of the .gitignore syntax that the
// skeleton uses, so that quickscale can tell which files a project keeps
// out of git (and out of the image build context) without running git.
//
// What it reads: comments, "!" to re-include, a trailing "/" for
// directories only, a leading "/" or any inner "/" to anchor a pattern at
// the root, a leading "**/" for any depth (also before a pattern with an
// inner "/"), and path.Match globs. As in git, trailing spaces are dropped
// and leading ones are part of the pattern. Any other
// "**" and backslash escapes are refused instead of being read differently
// from git.
package ignorefile

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"strings"
)

// Rules are an ignore file's patterns in order; the last one that matches
// a path decides.
type Rules []rule

type rule struct {
	pattern  string
	negate   bool
	dirOnly  bool
	anchored bool
}

// Parse reads an ignore file.
func Parse(data []byte) (Rules, error) {
	var rs Rules
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " ")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var r rule
		r.negate = strings.HasPrefix(line, "!")
		p := strings.TrimPrefix(line, "!")
		r.dirOnly = strings.HasSuffix(p, "/")
		p = strings.TrimSuffix(p, "/")
		unanchored := strings.HasPrefix(p, "**/")
		p = strings.TrimPrefix(p, "**/")
		if strings.Contains(p, "**") || strings.Contains(p, `\`) {
			return nil, fmt.Errorf("line %d: %q: only a leading **/ is read, and no backslash escapes; write the pattern without them", n, line)
		}
		r.anchored = !unanchored && strings.Contains(p, "/")
		r.pattern = strings.TrimPrefix(p, "/")
		if _, err := path.Match(r.pattern, ""); err != nil {
			return nil, fmt.Errorf("line %d: %q: %w", n, line, err)
		}
		rs = append(rs, r)
	}
	return rs, sc.Err()
}

// Ignores reports whether the rules ignore p, a slash-separated path
// relative to the ignore file's directory. It judges p alone: as in git, a
// caller walking a tree must not enter an ignored directory, since nothing
// below one can be re-included.
func (rs Rules) Ignores(p string, isDir bool) bool {
	ignored := false
	for _, r := range rs {
		if r.dirOnly && !isDir {
			continue
		}
		if ok, _ := path.Match(r.pattern, r.subject(p)); ok {
			ignored = !r.negate
		}
	}
	return ignored
}

// subject is the part of p that r's pattern is matched against: all of p
// for an anchored pattern, else its last segments, as many as the pattern
// has (path.Match's "*" never crosses a "/").
func (r rule) subject(p string) string {
	if r.anchored {
		return p
	}
	segments := strings.Count(r.pattern, "/") + 1
	i := len(p)
	for ; segments > 0 && i >= 0; segments-- {
		i = strings.LastIndex(p[:i], "/")
	}
	return p[i+1:]
}
