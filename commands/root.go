package commands

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/quickscale/quickscale/internal/config"
)

// NewCmdRoot builds the quickscale command with every subcommand. Each
// subcommand is added here by one line.
func NewCmdRoot(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quickscale",
		Short: "Create and run Go SaaS applications",
		Long: `quickscale creates a complete Go SaaS application with one command, then
builds and runs it with Docker.

Settings come from the first of these that has them:
  1. command-line flags
  2. environment variables:
` + wrapList(envVars(), "     ", 76) + `
  3. the config file quickscale/config.yaml in your user config directory
     ($XDG_CONFIG_HOME or ~/.config on Linux, ~/Library/Application Support
     on macOS, %AppData% on Windows); ` + config.EnvConfigFile + ` names another file.
     It sets the same settings by name, in YAML:
` + wrapList(config.Keys, "       ", 76) + `
  4. built-in defaults

Colour is used only on a terminal, and never when NO_COLOR is set or with
--no-color.

Exit codes:
` + exitCodesHelp(),
		Example: `  $ quickscale init my-app
  $ quickscale init shop --db postgres --module github.com/you/shop --no-input
  $ quickscale version`,
		Version: f.Build.Version,
		// Errors are printed once, by handleError, in quickscale's words.
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          unknownCommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
		// Subcommands must not define their own PersistentPreRunE: cobra
		// would run theirs instead of this one.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if f.DockerHelper != nil && cmd.Annotations[annotationDocker] != "" {
				return f.DockerHelper()
			}
			applyGlobalFlags(f, cmd)
			return nil
		},
	}
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetIn(f.IOStreams.In)
	cmd.CompletionOptions.DisableDefaultCmd = true // replaced by ours, with help
	cmd.Annotations = map[string]string{"versionText": versionText(f.Build)}
	cmd.SetVersionTemplate(`{{index .Annotations "versionText"}}`)
	cmd.SetHelpCommand(newCmdHelp())
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if err == pflag.ErrHelp {
			return err
		}
		return FlagErrorWrap(err)
	})

	pf := cmd.PersistentFlags()
	pf.Bool("no-color", false, "Print without colour (also: NO_COLOR, "+config.EnvVar(config.KeyNoColor)+")")
	pf.Bool("no-input", false, "Never ask questions; fail naming what is missing instead")
	pf.Bool("verbose", false, "Print debug detail on stderr")

	cmd.AddCommand(NewCmdInit(f, nil))
	cmd.AddCommand(NewCmdCheck(f, nil))
	cmd.AddCommand(NewCmdBuild(f, nil))
	cmd.AddCommand(NewCmdUp(f, nil))
	cmd.AddCommand(NewCmdDown(f, nil))
	cmd.AddCommand(NewCmdPs(f, nil))
	cmd.AddCommand(NewCmdLogs(f, nil))
	cmd.AddCommand(NewCmdManage(f, nil))
	cmd.AddCommand(NewCmdTest(f, nil))
	cmd.AddCommand(NewCmdDestroy(f, nil))
	cmd.AddCommand(NewCmdVersion(f))
	cmd.AddCommand(NewCmdCompletion(f))
	return cmd
}

// annotationNoConfig marks a command that reads no settings; it runs even
// when the config file is broken, and does not open it.
const annotationNoConfig = "quickscale/no-config"

// applyGlobalFlags turns the persistent flags into IOStreams settings.
func applyGlobalFlags(f *Factory, cmd *cobra.Command) {
	ios := f.IOStreams
	flags := cmd.Flags()
	noInput, _ := flags.GetBool("no-input")
	verbose, _ := flags.GetBool("verbose")
	noColor, _ := flags.GetBool("no-color")
	ios.SetNeverPrompt(noInput)
	ios.SetVerbose(verbose)
	// The config file may also turn colour off. Commands that print no
	// colour do not open it. A broken file is left for the commands that use
	// settings to report: it must not stop help or completion.
	if cmd.Annotations[annotationNoConfig] == "" {
		if cfg, err := f.Config(); err == nil && cfg.BindFlag(config.KeyNoColor, flags.Lookup("no-color")) == nil {
			noColor = cfg.Bool(config.KeyNoColor)
		}
	}
	ios.SetColorDisabled(noColor)
}

// newCmdHelp replaces cobra's help command, which shows the root help for
// a topic it does not know instead of saying so.
func newCmdHelp() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Print the help of a command, or of quickscale itself.",
		Example: `  $ quickscale help init
  $ quickscale help`,
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, sub := range c.Root().Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, sub.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			// Find stops at the deepest known command; anything left over is
			// a topic that does not exist.
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return FlagErrorf("no help topic %q; the commands are listed by quickscale help", strings.Join(args, " "))
			}
			return target.Help()
		},
	}
}

// unknownCommand rejects arguments to the root command: they can only be a
// mistyped command.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if suggestions := cmd.SuggestionsFor(args[0]); len(suggestions) > 0 {
		msg += "; did you mean " + strings.Join(suggestions, " or ") + "?"
	}
	return FlagErrorf("%s", msg)
}

// noArgs is cobra.NoArgs as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return FlagErrorf("%q takes no arguments, but got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}

// wrapList joins items with commas into lines of at most width columns,
// each starting with indent.
func wrapList(items []string, indent string, width int) string {
	var b strings.Builder
	line := indent
	for i, item := range items {
		if i < len(items)-1 {
			item += ","
		}
		if line != indent && len(line)+1+len(item) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += item
	}
	b.WriteString(line)
	return b.String()
}

func envVars() []string {
	vars := make([]string, len(config.Keys))
	for i, key := range config.Keys {
		vars[i] = config.EnvVar(key)
	}
	return vars
}
