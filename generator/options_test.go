package generator

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateNameAccepts(t *testing.T) {
	for _, name := range []string{"myapp", "demo", "my-app", "ab", "a1", "x-1-y", "mail", "blog", "app2go", strings.Repeat("a", 40)} {
		assert.NoError(t, ValidateName(name), "ValidateName(%q)", name)
	}
}

// TestREADMEExamplesAreValidNames runs every `quickscale init <name>` of the
// README through validation: a documented example that the tool rejects is
// a bug users hit first.
func TestREADMEExamplesAreValidNames(t *testing.T) {
	names := []string{"myapp", "demo", "my-app"}
	if readme, err := os.ReadFile("../README.md"); err == nil {
		for _, m := range regexp.MustCompile("quickscale init +([a-z0-9][^\\s`'\"<>),.;:]*)").FindAllStringSubmatch(string(readme), -1) {
			names = append(names, m[1])
		}
	} else {
		require.ErrorIs(t, err, os.ErrNotExist)
	}
	for _, name := range names {
		assert.NoError(t, ValidateName(name), "README example %q is rejected", name)
	}
}

func TestValidateNameRejects(t *testing.T) {
	cases := []struct{ name, want string }{
		{"", "empty"},
		{"a", "shorter than 2"},
		{strings.Repeat("a", 41), "longer than 40"},
		{"My-app", "lowercase letter"},
		{"myApp", "characters other than"},
		{"1app", "start with a lowercase letter"},
		{"-app", "start with a lowercase letter"},
		{"app-", "ends with a hyphen"},
		{"my--app", "double hyphen"},
		{"my_app", "characters other than"},
		{"my app", "characters other than"},
		{"my.app", "characters other than"},
		{"../app", "start with a lowercase letter"},
		{"app/x", "characters other than"},
		{"café", "characters other than"},
		{"main", "programs"},
		{"go", "shadows the Go tool"},
		{"test", "shell's test command"},
		{"internal", "internal"},
		{"vendor", "vendor"},
		{"testdata", "ignores"},
		{"func", "Go keyword"},
		{"string", "predeclared"},
		{"nil", "predeclared"},
		{"http", "standard-library"},
		{"sql", "standard-library"},
	}
	for _, c := range cases {
		err := ValidateName(c.name)
		var ie *InputError
		if !assert.ErrorAs(t, err, &ie, "ValidateName(%q)", c.name) || !assert.Equal(t, "name", ie.Field, "ValidateName(%q)'s field", c.name) {
			continue
		}
		assert.Contains(t, err.Error(), c.want, "ValidateName(%q) = %q, want it to mention %q", c.name, err, c.want)
		assert.NotEmpty(t, ie.Fix, "ValidateName(%q) = %q: the message must carry the fix", c.name, err)
		assert.Contains(t, err.Error(), ie.Fix, "ValidateName(%q) = %q: the message must carry the fix", c.name, err)
	}
}

func TestReservedNameSuggestionIsValid(t *testing.T) {
	for name := range reservedNames {
		if !namePattern.MatchString(name) {
			continue
		}
		err := ValidateName(name)
		var ie *InputError
		require.ErrorAs(t, err, &ie, "ValidateName(%q) = %v", name, err)
		require.Contains(t, ie.Fix, `"my-`+name+`"`, "fix %q lacks a suggestion", ie.Fix)
		assert.NoError(t, ValidateName("my-"+name), "suggested name %q is itself rejected", "my-"+name)
	}
}

func TestValidateModule(t *testing.T) {
	for _, p := range []string{"example.com/my-app", "github.com/you/my-app", "example.com/a/b/v2", "gitlab.example.org/group/sub/app"} {
		assert.NoError(t, ValidateModule(p), "ValidateModule(%q)", p)
	}
	for _, p := range []string{"", "myapp", "Example.com/x", "example.com/my app", "example.com//x", "/abs/x", "example.com/x/", "-example.com/x", "example.com/../x", "example.com/x\"y", "example.com/{{.Name}}"} {
		err := ValidateModule(p)
		var ie *InputError
		if !assert.ErrorAs(t, err, &ie, "ValidateModule(%q)", p) || !assert.Equal(t, "module", ie.Field, "ValidateModule(%q)'s field", p) {
			continue
		}
		assert.Contains(t, err.Error(), "example.com/my-app", "ValidateModule(%q) = %q: no example of a valid path", p, err)
	}
}

func TestValidateDB(t *testing.T) {
	for _, db := range DBs {
		assert.NoError(t, ValidateDB(db), "ValidateDB(%q)", db)
	}
	for _, db := range []string{"mysql", "", "SQLite", "postgresql"} {
		err := ValidateDB(db)
		var ie *InputError
		if !assert.ErrorAs(t, err, &ie, "ValidateDB(%q)", db) || !assert.Equal(t, "db", ie.Field, "ValidateDB(%q)'s field", db) {
			continue
		}
		assert.Contains(t, err.Error(), `"`+db+`"`, "ValidateDB(%q) must quote the value", db)
		assert.Contains(t, err.Error(), "sqlite, postgres", "ValidateDB(%q) must list the valid values", db)
	}
}

func TestDefaultModule(t *testing.T) {
	cases := []struct{ prefix, name, want string }{
		{"", "my-app", "example.com/my-app"},
		{"  ", "demo", "example.com/demo"},
		{"github.com/you", "myapp", "github.com/you/myapp"},
		{"github.com/you/", "myapp", "github.com/you/myapp"},
	}
	for _, c := range cases {
		got := DefaultModule(c.prefix, c.name)
		assert.Equal(t, c.want, got, "DefaultModule(%q, %q) = %q, want %q", c.prefix, c.name, got, c.want)
		assert.NoError(t, ValidateModule(got), "default module %q is invalid", got)
	}
}

func TestOptionsValidate(t *testing.T) {
	good := opts("sqlite")
	require.NoError(t, good.Validate())
	devel := good
	devel.QuickscaleVersion = "(devel)"
	assert.NoError(t, devel.Validate(), "(devel) version")
	longest := good
	longest.QuickscaleVersion = "v" + strings.Repeat("1", maxVersionLen-1)
	assert.NoError(t, longest.Validate(), "version of %d bytes", maxVersionLen)
	cases := map[string]func(*Options){
		"name":           func(o *Options) { o.Name = "Bad" },
		"module":         func(o *Options) { o.Module = "nodot" },
		"db":             func(o *Options) { o.DB = "mysql" },
		"empty version":  func(o *Options) { o.QuickscaleVersion = "" },
		"unsafe version": func(o *Options) { o.QuickscaleVersion = "v1\n{{.Secrets}}" },
		"long version":   func(o *Options) { o.QuickscaleVersion = "v" + strings.Repeat("1", maxVersionLen) },
	}
	for name, mutate := range cases {
		o := good
		mutate(&o)
		assert.Error(t, o.Validate(), "%s: Validate accepted %+v", name, o)
	}
}
