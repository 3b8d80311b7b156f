// Package config resolves quickscale's settings. Each setting comes from the
// first of these that has it: a command-line flag, a QUICKSCALE_* environment
// variable, the config file, the built-in default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cast"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// The settings quickscale knows. A key is also the name in the config file
// and, upper-cased behind EnvPrefix, the environment variable.
const (
	KeyModulePrefix = "module_prefix"
	KeyDB           = "db"
	KeyDir          = "dir"
	KeyGit          = "git"
	KeyNoColor      = "no_color"
)

// EnvPrefix prefixes every environment variable: QUICKSCALE_DB sets db.
const EnvPrefix = "QUICKSCALE"

// EnvConfigFile names the environment variable that points at another config
// file than the default one.
const EnvConfigFile = "QUICKSCALE_CONFIG"

// Keys lists every setting, in the order the help shows them.
var Keys = []string{KeyModulePrefix, KeyDB, KeyDir, KeyGit, KeyNoColor}

var defaults = map[string]any{
	KeyModulePrefix: "example.com",
	KeyDB:           "sqlite",
	KeyDir:          ".",
	KeyGit:          false,
	KeyNoColor:      false,
}

var boolKeys = []string{KeyGit, KeyNoColor}

// Default returns the built-in default of a key.
func Default(key string) any { return defaults[key] }

// EnvVar returns the environment variable that sets a key.
func EnvVar(key string) string { return EnvPrefix + "_" + strings.ToUpper(key) }

// Config is the resolved settings of one quickscale run.
type Config struct {
	v         *viper.Viper
	file      string // the config file consulted, "" if none could be located
	fileFound bool
	flags     map[string]*pflag.Flag
}

// Load reads the environment and the config file. A missing config file is
// fine unless QUICKSCALE_CONFIG names it; a file that exists must be valid.
func Load() (*Config, error) {
	v := viper.New()
	for key, value := range defaults {
		v.SetDefault(key, value)
	}
	v.SetEnvPrefix(EnvPrefix)
	for _, key := range Keys {
		// Explicit binding rather than AutomaticEnv: only known keys are read.
		if err := v.BindEnv(key, EnvVar(key)); err != nil {
			return nil, fmt.Errorf("bind %s: %w", EnvVar(key), err)
		}
	}
	c := &Config{v: v, flags: map[string]*pflag.Flag{}}

	if err := c.checkEnv(); err != nil {
		return nil, err
	}
	if err := c.readFile(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) env(key string) (string, bool) {
	value, ok := os.LookupEnv(EnvVar(key))
	// viper ignores empty variables too: `QUICKSCALE_DB= quickscale init`
	// means "unset", not "the empty database".
	return value, ok && value != ""
}

func (c *Config) checkEnv() error {
	for _, key := range boolKeys {
		if value, ok := c.env(key); ok {
			if _, err := cast.ToBoolE(value); err != nil {
				return fmt.Errorf("environment variable %s is %q, which is not a boolean; set it to true or false", EnvVar(key), value)
			}
		}
	}
	return nil
}

// readFile locates and reads the config file into c.v.
func (c *Config) readFile() error {
	path, explicit := os.LookupEnv(EnvConfigFile)
	if !explicit || path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			// No home or XDG directory (a bare container, a service account):
			// there is simply no default config file.
			return nil
		}
		path = filepath.Join(dir, "quickscale", "config.yaml")
		explicit = false
	}
	c.file = path

	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("config file %s (named by %s) does not exist; create it or unset %s", path, EnvConfigFile, EnvConfigFile)
	case err != nil:
		return fmt.Errorf("cannot read config file %s: %w", path, err)
	}
	c.fileFound = true

	c.v.SetConfigType("yaml")
	if err := c.v.ReadConfig(bytes.NewReader(data)); err != nil {
		var parseErr viper.ConfigParseError
		if errors.As(err, &parseErr) && parseErr.Unwrap() != nil {
			err = parseErr.Unwrap()
		}
		return fmt.Errorf("config file %s is not valid YAML (%v); fix it or move it away", path, err)
	}
	return c.checkFile()
}

// checkFile rejects unknown keys (a typo would otherwise be silently ignored)
// and values of the wrong type.
func (c *Config) checkFile() error {
	for _, key := range c.v.AllKeys() {
		if _, known := defaults[key]; !known {
			return fmt.Errorf("config file %s has an unknown setting %q; the settings are %s", c.file, key, strings.Join(Keys, ", "))
		}
	}
	for _, key := range Keys {
		if !c.v.InConfig(key) {
			continue
		}
		value := c.v.Get(key)
		if slices.Contains(boolKeys, key) {
			if _, err := cast.ToBoolE(value); err != nil {
				return fmt.Errorf("config file %s sets %s to %v, which is not a boolean; use true or false", c.file, key, value)
			}
			continue
		}
		switch value.(type) {
		case string, int, int64, uint64, float64:
		default:
			return fmt.Errorf("config file %s sets %s to %v, which is not a string; write a plain value such as %s: %v", c.file, key, value, key, defaults[key])
		}
	}
	return nil
}

// File returns the path of the config file that was looked for and whether
// it exists. The path is "" when no config directory could be determined.
func (c *Config) File() (path string, found bool) { return c.file, c.fileFound }

// BindFlag makes a command-line flag the first source of a key. The flag
// counts only when it was given on the command line: its default does not
// hide the environment or the file.
func (c *Config) BindFlag(key string, flag *pflag.Flag) error {
	if _, known := defaults[key]; !known {
		return fmt.Errorf("bind flag: unknown setting %q", key)
	}
	if flag == nil {
		return fmt.Errorf("bind flag: no flag for setting %q", key)
	}
	if err := c.v.BindPFlag(key, flag); err != nil {
		return fmt.Errorf("bind flag --%s: %w", flag.Name, err)
	}
	c.flags[key] = flag
	return nil
}

// String returns a string setting. A directory from the environment or the
// file may start with "~/", which the shell would have expanded on a command
// line but YAML never does.
func (c *Config) String(key string) string {
	value := c.v.GetString(key)
	if key == KeyDir && (value == "~" || strings.HasPrefix(value, "~/")) {
		if home, err := os.UserHomeDir(); err == nil {
			value = filepath.Join(home, strings.TrimPrefix(value, "~"))
		}
	}
	return value
}

// Bool returns a boolean setting.
func (c *Config) Bool(key string) bool { return c.v.GetBool(key) }

// Source says where a key's value comes from, for --verbose and for error
// messages: "--db", "QUICKSCALE_DB", the config file's path, or "default".
func (c *Config) Source(key string) string {
	if flag, ok := c.flags[key]; ok && flag.Changed {
		return "--" + flag.Name
	}
	if _, ok := c.env(key); ok {
		return EnvVar(key)
	}
	if c.fileFound && c.v.InConfig(key) {
		return c.file
	}
	return "default"
}
