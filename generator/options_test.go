package generator

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestValidateNameAccepts(t *testing.T) {
	for _, name := range []string{"myapp", "demo", "my-app", "ab", "a1", "x-1-y", "mail", "blog", "app2go", strings.Repeat("a", 40)} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q): %v", name, err)
		}
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
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := ValidateName(name); err != nil {
			t.Errorf("README example %q is rejected: %v", name, err)
		}
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
		if !errors.As(err, &ie) || ie.Field != "name" {
			t.Errorf("ValidateName(%q) = %v, want an InputError for name", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ValidateName(%q) = %q, want it to mention %q", c.name, err, c.want)
		}
		if ie.Fix == "" || !strings.Contains(err.Error(), ie.Fix) {
			t.Errorf("ValidateName(%q) = %q: the message must carry the fix", c.name, err)
		}
	}
}

func TestReservedNameSuggestionIsValid(t *testing.T) {
	for name := range reservedNames {
		if !namePattern.MatchString(name) {
			continue
		}
		err := ValidateName(name)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("ValidateName(%q) = %v", name, err)
		}
		if !strings.Contains(ie.Fix, `"my-`+name+`"`) {
			t.Fatalf("fix %q lacks a suggestion", ie.Fix)
		}
		if err := ValidateName("my-" + name); err != nil {
			t.Errorf("suggested name %q is itself rejected: %v", "my-"+name, err)
		}
	}
}

func TestValidateModule(t *testing.T) {
	for _, p := range []string{"example.com/my-app", "github.com/you/my-app", "example.com/a/b/v2", "gitlab.example.org/group/sub/app"} {
		if err := ValidateModule(p); err != nil {
			t.Errorf("ValidateModule(%q): %v", p, err)
		}
	}
	for _, p := range []string{"", "myapp", "Example.com/x", "example.com/my app", "example.com//x", "/abs/x", "example.com/x/", "-example.com/x", "example.com/../x", "example.com/x\"y", "example.com/{{.Name}}"} {
		err := ValidateModule(p)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "module" {
			t.Errorf("ValidateModule(%q) = %v, want an InputError for module", p, err)
			continue
		}
		if !strings.Contains(err.Error(), "example.com/my-app") {
			t.Errorf("ValidateModule(%q) = %q: no example of a valid path", p, err)
		}
	}
}

func TestValidateDB(t *testing.T) {
	for _, db := range DBs {
		if err := ValidateDB(db); err != nil {
			t.Errorf("ValidateDB(%q): %v", db, err)
		}
	}
	for _, db := range []string{"mysql", "", "SQLite", "postgresql"} {
		err := ValidateDB(db)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "db" {
			t.Errorf("ValidateDB(%q) = %v, want an InputError for db", db, err)
			continue
		}
		if !strings.Contains(err.Error(), `"`+db+`"`) || !strings.Contains(err.Error(), "sqlite, postgres") {
			t.Errorf("ValidateDB(%q) = %q: must quote the value and list the valid ones", db, err)
		}
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
		if got != c.want {
			t.Errorf("DefaultModule(%q, %q) = %q, want %q", c.prefix, c.name, got, c.want)
		}
		if err := ValidateModule(got); err != nil {
			t.Errorf("default module %q is invalid: %v", got, err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	good := opts("sqlite")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	devel := good
	devel.QuickscaleVersion = "(devel)"
	if err := devel.Validate(); err != nil {
		t.Errorf("(devel) version: %v", err)
	}
	cases := map[string]func(*Options){
		"name":           func(o *Options) { o.Name = "Bad" },
		"module":         func(o *Options) { o.Module = "nodot" },
		"db":             func(o *Options) { o.DB = "mysql" },
		"empty version":  func(o *Options) { o.QuickscaleVersion = "" },
		"unsafe version": func(o *Options) { o.QuickscaleVersion = "v1\n{{.Secrets}}" },
	}
	for name, mutate := range cases {
		o := good
		mutate(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, o)
		}
	}
}
