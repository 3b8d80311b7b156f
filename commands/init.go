package commands

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/generator"
	"github.com/quickscale/quickscale/internal/buildinfo"
	"github.com/quickscale/quickscale/internal/config"
	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/prompt"
)

// InitOptions is everything `quickscale init` works from: its dependencies,
// then the resolved values of its argument, flags and settings.
type InitOptions struct {
	IO         *iostreams.IOStreams
	Prompter   func() prompt.Prompter
	Build      buildinfo.Info
	WorkingDir func() (string, error) // what a relative Dir is relative to

	Name         string
	Module       string
	ModulePrefix string
	DB           string
	Dir          string // the parent directory of the new project
	DryRun       bool
	Git          bool

	// Interactive is true when the missing answers may be asked for: both
	// ends are terminals and --no-input was not given.
	Interactive bool
	// DBGiven is true when --db was on the command line: the wizard then
	// does not ask for the database, even though DB always has a value.
	DBGiven bool
	// Sources says where each setting came from ("--db", "QUICKSCALE_DB",
	// a config file path, "default"), for --verbose and error messages.
	Sources map[string]string
}

// NewCmdInit builds `quickscale init`. runF replaces the run function in
// tests that only check how the command line is parsed.
func NewCmdInit(f *Factory, runF func(context.Context, *InitOptions) error) *cobra.Command {
	opts := &InitOptions{
		IO:         f.IOStreams,
		Prompter:   f.Prompter,
		Build:      f.Build,
		WorkingDir: f.WorkingDir,
	}
	cmd := &cobra.Command{
		Use:   "init [<name>]",
		Short: "Create a new project",
		Long: `Create a new Go SaaS project in a new directory named after the project.

The name becomes the directory, the binary and the last element of the Go
module path: 2 to 40 lowercase letters, digits and single hyphens, starting
with a letter. The module path defaults to <module prefix>/<name>.

On a terminal, init asks for whatever the command line did not give (name,
module path, database) and then prints the equivalent command to run without
questions. Without a terminal, or with --no-input, it never asks: a missing
name is an error, and everything else takes its default.

The values of --module-prefix, --db, --dir and --git come from the first of:
the flag, the environment variable, the config file (see 'quickscale --help'),
the built-in default. The environment variables are:
` + wrapList(initEnvVars(), "  ", 76) + `

Nothing is written until every input is valid. The project is written to a
temporary directory and renamed into place, so a failure or Ctrl-C while
writing leaves nothing behind. init refuses a target directory that exists
and is not empty.

With --git, the new project is committed to a new git repository. If git is
missing or does not know your name and email, init says so and still succeeds.`,
		Example: `  # ask for what is missing (on a terminal)
  $ quickscale init

  # no questions: SQLite, module example.com/my-app, in ./my-app
  $ quickscale init my-app --no-input

  # PostgreSQL, your own module path, in ~/code/shop, with a first commit
  $ quickscale init shop --db postgres --module github.com/you/shop --dir ~/code --git

  # list the files and their sizes without writing anything
  $ quickscale init my-app --dry-run`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return FlagErrorf("init takes one project name, but got %d arguments: %s", len(args), strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			if err := resolveInitSettings(f, cmd, opts); err != nil {
				return err
			}
			opts.DBGiven = cmd.Flags().Changed("db")
			opts.Interactive = opts.IO.CanPrompt()
			if opts.Name == "" && !opts.Interactive {
				why := "there is no terminal to ask for it"
				if noInput, _ := cmd.Flags().GetBool("no-input"); noInput {
					why = "--no-input forbids asking for it"
				}
				return FlagErrorf("the project name is missing and %s; pass it as the argument, e.g. quickscale init my-app", why)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return initRun(cmd.Context(), opts)
		},
	}

	fl := cmd.Flags()
	fl.StringVar(&opts.Module, "module", "", "Go module path of the project (default <module-prefix>/<name>)")
	fl.StringVar(&opts.ModulePrefix, "module-prefix", config.Default(config.KeyModulePrefix).(string), "Prefix of the default module path")
	fl.StringVar(&opts.DB, "db", config.Default(config.KeyDB).(string), "Database: "+strings.Join(generator.DBs, " or "))
	fl.StringVar(&opts.Dir, "dir", config.Default(config.KeyDir).(string), "Directory in which the project directory is created")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "Check the target directory and list the files that would be written, with their sizes; write nothing")
	fl.BoolVar(&opts.Git, "git", false, "Create a git repository with a first commit")
	_ = cmd.RegisterFlagCompletionFunc("db", cobra.FixedCompletions(generator.DBs, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagDirname("dir")
	return cmd
}

// initFlagKeys pairs the flags of init with the settings they override.
var initFlagKeys = []struct{ flag, key string }{
	{"module-prefix", config.KeyModulePrefix},
	{"db", config.KeyDB},
	{"dir", config.KeyDir},
	{"git", config.KeyGit},
}

func initEnvVars() []string {
	vars := make([]string, len(initFlagKeys))
	for i, fk := range initFlagKeys {
		vars[i] = config.EnvVar(fk.key)
	}
	return vars
}

// resolveInitSettings fills the settings of opts from the flags, the
// environment, the config file and the defaults, in that order.
func resolveInitSettings(f *Factory, cmd *cobra.Command, opts *InitOptions) error {
	cfg, err := f.Config()
	if err != nil {
		return &SettingError{err: err}
	}
	for _, fk := range initFlagKeys {
		if err := cfg.BindFlag(fk.key, cmd.Flags().Lookup(fk.flag)); err != nil {
			return err
		}
	}
	opts.ModulePrefix = cfg.String(config.KeyModulePrefix)
	opts.DB = cfg.String(config.KeyDB)
	opts.Dir = cfg.String(config.KeyDir)
	opts.Git = cfg.Bool(config.KeyGit)
	opts.Sources = map[string]string{}
	for _, fk := range initFlagKeys {
		opts.Sources[fk.key] = cfg.Source(fk.key)
	}
	if path, found := cfg.File(); found {
		opts.IO.Debugf("config file: %s", path)
	} else if path != "" {
		opts.IO.Debugf("config file: none (%s does not exist)", path)
	}
	return nil
}
