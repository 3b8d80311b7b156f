package ignorefile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIgnores(t *testing.T) {
	rules, err := Parse([]byte(`# Secrets
.env
.env.*
!.env.example

/data/
build/
*.test
docs/*.tmp
**/cache
**/gen/*.pb.go
 lead.txt
trail.txt  
`))
	require.NoError(t, err)
	cases := []struct {
		path  string
		isDir bool
		want  bool
	}{
		{".env", false, true},
		{"cmd/app/.env", false, true},
		{".env.local", false, true},
		{".env.example", false, false},
		{"data", true, true},
		{"data", false, false},    // a file named data: the pattern names directories
		{"cmd/data", true, false}, // anchored at the root
		{"cmd/build", true, true}, // not anchored: any depth
		{"x/app.test", false, true},
		{"docs/a.tmp", false, true},
		{"x/docs/a.tmp", false, false}, // an inner slash anchors
		{"a/b/cache", false, true},
		{"main.go", false, false},
		{"gen/a.pb.go", false, true}, // **/ with an inner slash: any depth
		{"x/y/gen/a.pb.go", false, true},
		{"x/gen/sub/a.pb.go", false, false},
		{"x/ygen/a.pb.go", false, false},
		{" lead.txt", false, true}, // leading spaces are part of the name, as in git
		{"lead.txt", false, false},
		{"trail.txt", false, true}, // trailing spaces are not
	}
	for _, c := range cases {
		assert.Equal(t, c.want, rules.Ignores(c.path, c.isDir), "Ignores(%q, dir=%v)", c.path, c.isDir)
	}
}

func TestParseRefusesWhatItCannotRead(t *testing.T) {
	for _, line := range []string{"a/**/b", "a**", `\#x`, "[z-a"} {
		_, err := Parse([]byte("ok\n" + line + "\n"))
		if assert.Error(t, err, line) {
			assert.Contains(t, err.Error(), "line 2", line)
		}
	}
}
