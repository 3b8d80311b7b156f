package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
)

// invocation is what a command runs with: the process's environment,
// passed in so tests run commands in-process with their own.
type invocation struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	clock  clock.Clock
	// path is the command line up to the command that runs.
	path string
}

// usageError is msg about the command that runs.
func (inv invocation) usageError(msg string) error { return usageError{msg, inv.path} }

// command is one command of the binary: a group of subcommands, or a
// leaf that declares its flags and runs.
type command struct {
	name    string
	summary string // one line, for the parent's list
	// synopsis follows the command's path in its usage line, e.g.
	// "--email ADDRESS [--name NAME]".
	synopsis string
	// detail, when set, closes the help.
	detail string
	// flags declares a leaf's flags and returns what runs it, reading
	// them. A leaf without flags still gets -h and --help.
	flags func(fs *flag.FlagSet) func(ctx context.Context, inv invocation) error
	sub   []*command
}

// usageError is a command line that cannot run: it exits with status 2.
// path is the command it was meant for, whose --help the message points to.
type usageError struct{ msg, path string }

func (e usageError) Error() string {
	return e.msg + "\nRun `" + e.path + " --help` for its usage."
}

// exitCode is the process status for what run returned: 0 for success
// (asking for help included), 2 for a command line that cannot run, 1 for
// a command that ran and failed.
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.As(err, new(usageError)):
		return 2
	}
	return 1
}

// about starts a message about the command at path; main names the
// binary already.
func about(path string) string {
	if cmd, ok := strings.CutPrefix(path, appName+" "); ok {
		return cmd + ": "
	}
	return ""
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

// execute runs the command named by args below c, whose own path (from the
// binary's name) is path.
func (c *command) execute(ctx context.Context, path string, args []string, inv invocation) error {
	if c.sub == nil {
		return c.runLeaf(ctx, path, args, inv)
	}
	if len(args) == 0 {
		fmt.Fprint(inv.stderr, c.help(path))
		return usageError{about(path) + "a command is needed: " + c.names(), path}
	}
	if isHelp(args[0]) {
		return c.printHelp(path, args[1:], inv.stdout)
	}
	sub := c.find(args[0])
	if sub == nil {
		what := "command"
		if strings.HasPrefix(args[0], "-") {
			what = "flag"
		}
		return usageError{fmt.Sprintf("%sunknown %s %q; the commands are %s", about(path), what, args[0], c.names()), path}
	}
	return sub.execute(ctx, path+" "+sub.name, args[1:], inv)
}

func (c *command) runLeaf(ctx context.Context, path string, args []string, inv invocation) error {
	fs, run := c.flagSet(path)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(inv.stdout, c.help(path))
			return nil
		}
		return usageError{about(path) + err.Error(), path}
	}
	if fs.NArg() == 1 && fs.Arg(0) == "help" {
		fmt.Fprint(inv.stdout, c.help(path))
		return nil
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%sunexpected argument %q (it takes flags only)", about(path), fs.Arg(0)), path}
	}
	inv.path = path
	return run(ctx, inv)
}

// flagSet is the leaf's flags, quiet: errors and help are printed by
// execute, to the stream each belongs on.
func (c *command) flagSet(path string) (*flag.FlagSet, func(context.Context, invocation) error) {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs, c.flags(fs)
}

// printHelp prints the help of the command that names (a path below c)
// lead to, or c's own.
func (c *command) printHelp(path string, names []string, stdout io.Writer) error {
	target := c
	for _, name := range names {
		sub := target.find(name)
		if sub == nil {
			return usageError{fmt.Sprintf("%sno command %q to explain; the commands are %s", about(path), name, target.names()), path}
		}
		target, path = sub, path+" "+sub.name
	}
	fmt.Fprint(stdout, target.help(path))
	return nil
}

// listLeaves lists every command that runs below c, by its path from c:
// the whole binary fits on one screen.
func (c *command) listLeaves(w io.Writer, prefix string) {
	for _, s := range c.sub {
		if s.sub != nil {
			s.listLeaves(w, prefix+s.name+" ")
			continue
		}
		fmt.Fprintf(w, "  %s%s\t%s\n", prefix, s.name, s.summary)
	}
}

func (c *command) find(name string) *command {
	i := slices.IndexFunc(c.sub, func(s *command) bool { return s.name == name })
	if i < 0 {
		return nil
	}
	return c.sub[i]
}

func (c *command) names() string {
	names := make([]string, len(c.sub))
	for i, s := range c.sub {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

// help is the command's usage text.
func (c *command) help(path string) string {
	var b bytes.Buffer
	if c.sub != nil {
		fmt.Fprintf(&b, "Usage: %s <command>\n", path)
	} else {
		fmt.Fprintln(&b, strings.TrimSpace("Usage: "+path+" "+c.synopsis))
	}
	b.WriteString("\n" + c.summary + "\n")
	if c.sub != nil {
		b.WriteString("\nCommands:\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		c.listLeaves(tw, "")
		tw.Flush()
		fmt.Fprintf(&b, "\nRun `%s <command> --help` for a command's usage.\n", path)
	} else if fs, _ := c.flagSet(path); hasFlags(fs) {
		b.WriteString("\nFlags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
	}
	if c.detail != "" {
		b.WriteString("\n" + c.detail)
	}
	return b.String()
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// noFlags is the flags of a leaf that takes none.
func noFlags(run func(ctx context.Context, inv invocation) error) func(*flag.FlagSet) func(context.Context, invocation) error {
	return func(*flag.FlagSet) func(context.Context, invocation) error { return run }
}
