// Package text says which strings the databases can store. PostgreSQL
// refuses NUL bytes and bytes that are not UTF-8 where SQLite keeps them,
// so input is checked against the stricter of the two before it reaches
// either, and bad input is answered alike whichever database runs.
package text

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Storable reports whether every database can store s.
func Storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Unstorable returns the name of the first of values (in name order) whose
// name or one of whose values cannot be stored, or "" if all can.
func Unstorable(values url.Values) string {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !Storable(name) || slices.ContainsFunc(values[name], func(v string) bool { return !Storable(v) }) {
			return name
		}
	}
	return ""
}
