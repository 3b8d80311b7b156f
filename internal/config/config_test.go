package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// isolate points every location the config reads at an empty temporary
// directory and clears the QUICKSCALE_* variables of the developer running
// the tests. It returns the default config file path.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	t.Setenv(EnvConfigFile, "")
	for _, key := range Keys {
		t.Setenv(EnvVar(key), "")
	}
	return filepath.Join(dir, "xdg", "quickscale", "config.yaml")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// flags mirrors how quickscale init declares the flags bound to settings.
func flags(t *testing.T, c *Config, args ...string) {
	t.Helper()
	fs := pflag.NewFlagSet("init", pflag.ContinueOnError)
	fs.String("module-prefix", "example.com", "")
	fs.String("db", "sqlite", "")
	fs.String("dir", ".", "")
	fs.Bool("git", false, "")
	fs.Bool("no-color", false, "")
	require.NoError(t, fs.Parse(args))
	for key, name := range map[string]string{KeyModulePrefix: "module-prefix", KeyDB: "db", KeyDir: "dir", KeyGit: "git", KeyNoColor: "no-color"} {
		require.NoError(t, c.BindFlag(key, fs.Lookup(name)))
	}
}

func TestPrecedence(t *testing.T) {
	const file = "module_prefix: file.example\ndb: postgres\ndir: /from/file\ngit: true\n"
	tests := []struct {
		name       string
		file       string
		env        map[string]string
		args       []string
		key        string
		want       string
		wantSource string // "file" stands for the config file's path
	}{
		{name: "built-in default", key: KeyDB, want: "sqlite", wantSource: "default"},
		{name: "default prefix", key: KeyModulePrefix, want: "example.com", wantSource: "default"},
		{name: "file over default", file: file, key: KeyDB, want: "postgres", wantSource: "file"},
		{name: "env over file", file: file, env: map[string]string{"QUICKSCALE_DB": "sqlite"}, key: KeyDB, want: "sqlite", wantSource: "QUICKSCALE_DB"},
		{name: "env over default", env: map[string]string{"QUICKSCALE_MODULE_PREFIX": "env.example"}, key: KeyModulePrefix, want: "env.example", wantSource: "QUICKSCALE_MODULE_PREFIX"},
		{name: "flag over env and file", file: file, env: map[string]string{"QUICKSCALE_DB": "postgres"}, args: []string{"--db", "mysql"}, key: KeyDB, want: "mysql", wantSource: "--db"},
		{name: "unset flag keeps env", env: map[string]string{"QUICKSCALE_DIR": "/from/env"}, args: []string{"--db", "postgres"}, key: KeyDir, want: "/from/env", wantSource: "QUICKSCALE_DIR"},
		{name: "flag equal to its default still wins", file: file, args: []string{"--dir", "."}, key: KeyDir, want: ".", wantSource: "--dir"},
		{name: "empty env is unset", file: file, env: map[string]string{"QUICKSCALE_DB": ""}, key: KeyDB, want: "postgres", wantSource: "file"},
		{name: "bool from file", file: file, key: KeyGit, want: "true", wantSource: "file"},
		{name: "bool env over file", file: file, env: map[string]string{"QUICKSCALE_GIT": "false"}, key: KeyGit, want: "false", wantSource: "QUICKSCALE_GIT"},
		{name: "bool flag over env", env: map[string]string{"QUICKSCALE_GIT": "false"}, args: []string{"--git"}, key: KeyGit, want: "true", wantSource: "--git"},
		{name: "explicit false flag over file", file: file, args: []string{"--git=false"}, key: KeyGit, want: "false", wantSource: "--git"},
		{name: "no_color from env", env: map[string]string{"QUICKSCALE_NO_COLOR": "1"}, key: KeyNoColor, want: "true", wantSource: "QUICKSCALE_NO_COLOR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := isolate(t)
			if tt.file != "" {
				writeFile(t, path, tt.file)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load()
			require.NoError(t, err, "Load")
			flags(t, c, tt.args...)

			var got string
			if tt.key == KeyGit || tt.key == KeyNoColor {
				if c.Bool(tt.key) {
					got = "true"
				} else {
					got = "false"
				}
			} else {
				got = c.String(tt.key)
			}
			assert.Equal(t, tt.want, got, "%s = %q, want %q", tt.key, got, tt.want)
			wantSource := tt.wantSource
			if wantSource == "file" {
				wantSource = path
			}
			assert.Equal(t, wantSource, c.Source(tt.key), "Source(%s)", tt.key)
		})
	}
}

func TestConfigFileLocation(t *testing.T) {
	t.Run("QUICKSCALE_CONFIG overrides the default path", func(t *testing.T) {
		defaultPath := isolate(t)
		writeFile(t, defaultPath, "db: sqlite\n")
		other := filepath.Join(t.TempDir(), "other.yml")
		writeFile(t, other, "db: postgres\n")
		t.Setenv(EnvConfigFile, other)
		c, err := Load()
		require.NoError(t, err)
		assert.Equal(t, "postgres", c.String(KeyDB), "db, want the value from %s", other)
		path, found := c.File()
		assert.Equal(t, other, path, "File()")
		assert.True(t, found, "File() found")
	})
	t.Run("a missing default file is fine", func(t *testing.T) {
		path := isolate(t)
		c, err := Load()
		require.NoError(t, err)
		got, found := c.File()
		assert.Equal(t, path, got, "File()")
		assert.False(t, found, "File() found a missing file")
	})
	t.Run("a missing file named by QUICKSCALE_CONFIG is an error", func(t *testing.T) {
		isolate(t)
		missing := filepath.Join(t.TempDir(), "nope.yaml")
		t.Setenv(EnvConfigFile, missing)
		_, err := Load()
		if assert.Error(t, err, "Load()") {
			assert.Contains(t, err.Error(), missing)
			assert.Contains(t, err.Error(), EnvConfigFile)
		}
	})
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		wantErr []string
	}{
		{name: "not YAML", file: "db: [sqlite\n", wantErr: []string{"not valid YAML", "line"}},
		{name: "unknown key", file: "modul_prefix: x\n", wantErr: []string{`unknown setting "modul_prefix"`, "module_prefix, db, dir, git, no_color"}},
		{name: "nested unknown key", file: "docker:\n  host: x\n", wantErr: []string{`unknown setting "docker.host"`}},
		{name: "bool that is not", file: "git: maybe\n", wantErr: []string{"git to maybe", "true or false"}},
		{name: "list for a string", file: "db:\n  - sqlite\n", wantErr: []string{"db to [sqlite]", "not a string"}},
		{name: "env bool that is not", env: map[string]string{"QUICKSCALE_GIT": "yes please"}, wantErr: []string{"QUICKSCALE_GIT", `"yes please"`, "true or false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := isolate(t)
			if tt.file != "" {
				writeFile(t, path, tt.file)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Load()
			require.Error(t, err, "Load() succeeded")
			msg := err.Error()
			if tt.file != "" {
				assert.Contains(t, msg, path, "the error does not name the file")
			}
			for _, want := range tt.wantErr {
				assert.Contains(t, msg, want, "error %q does not contain %q", msg, want)
			}
		})
	}
}

func TestEmptyConfigFile(t *testing.T) {
	path := isolate(t)
	writeFile(t, path, "# nothing set yet\n")
	c, err := Load()
	require.NoError(t, err)
	assert.Equal(t, "sqlite", c.String(KeyDB), "db")
}

func TestDirTildeExpansion(t *testing.T) {
	path := isolate(t)
	home := os.Getenv("HOME")
	writeFile(t, path, "dir: ~/code\n")
	c, err := Load()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(home, "code"), c.String(KeyDir), "dir")
}

func TestBindFlagRejectsUnknownKey(t *testing.T) {
	isolate(t)
	c, err := Load()
	require.NoError(t, err)
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("x", "", "")
	assert.Error(t, c.BindFlag("nope", fs.Lookup("x")), "BindFlag accepted an unknown key")
	assert.Error(t, c.BindFlag(KeyDB, fs.Lookup("missing")), "BindFlag accepted a nil flag")
}
