package commands

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/quickscale/quickscale/generator"
	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/config"
	"github.com/quickscale/quickscale/internal/prompt"
)

// appURL is where `make run` serves the generated app: HTTP_ADDR's default.
var appURL = "http://localhost:" + strconv.Itoa(appcontract.HTTPPort)

const nothingWritten = "Cancelled; nothing was written."

func initRun(ctx context.Context, opts *InitOptions) error {
	ios := opts.IO
	for _, fk := range initFlagKeys {
		ios.Debugf("%s: %v (from %s)", fk.key, settingValue(opts, fk.key), opts.Sources[fk.key])
	}

	// Everything the user already gave is checked before any question, so
	// nobody answers three questions to learn that --db was misspelt.
	if err := validateGiven(opts); err != nil {
		return err
	}
	asked := false
	if opts.Interactive {
		var err error
		if asked, err = askMissing(ctx, opts); err != nil {
			return err
		}
	}
	if opts.Module == "" {
		opts.Module = generator.DefaultModule(opts.ModulePrefix, opts.Name)
		if err := generator.ValidateModule(opts.Module); err != nil {
			return annotate(err, "module prefix "+quote(opts.ModulePrefix), opts.Sources[config.KeyModulePrefix])
		}
	}
	if asked {
		cs := ios.ColorScheme()
		fmt.Fprintf(ios.Out, "\nTo do the same without questions:\n  %s\n\n", cs.Bold(equivalentCommand(opts)))
	}

	genOpts := generator.Options{
		Name:              opts.Name,
		Module:            opts.Module,
		DB:                opts.DB,
		QuickscaleVersion: opts.Build.Version,
	}
	if err := genOpts.Validate(); err != nil {
		return err
	}
	// The project is a few megabytes, rendered once and written by a
	// process that exits right after: collecting the garbage meanwhile cost
	// a fifth of init's CPU time, and frees nothing anyone needs.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	start := time.Now()
	files, err := generator.Render(genOpts)
	if err != nil {
		return fmt.Errorf("render the project: %w", err)
	}
	ios.Debugf("rendered %d files in %s", len(files), time.Since(start).Round(time.Millisecond))

	absTarget, err := absProjectDir(opts)
	if err != nil {
		return err
	}
	if opts.DryRun {
		if err := generator.CheckTarget(absTarget); err != nil {
			return err
		}
		printDryRun(opts, files, absTarget)
		return nil
	}

	start = time.Now()
	if err := generator.Write(ctx, files, absTarget); err != nil {
		if ctx.Err() != nil {
			return &CancelError{Message: nothingWritten}
		}
		return err
	}
	ios.Debugf("wrote %s in %s", absTarget, time.Since(start).Round(time.Millisecond))

	cs := ios.ColorScheme()
	fmt.Fprintf(ios.Out, "%s Created %s in %s (%d files)\n", cs.SuccessIcon(), cs.Bold(opts.Name), absTarget, len(files))
	if opts.Git {
		if err := setUpGit(ctx, opts, absTarget); err != nil {
			return err
		}
	}
	printNextSteps(opts)
	return nil
}

func settingValue(opts *InitOptions, key string) any {
	switch key {
	case config.KeyModulePrefix:
		return opts.ModulePrefix
	case config.KeyDB:
		return opts.DB
	case config.KeyDir:
		return opts.Dir
	case config.KeyGit:
		return opts.Git
	}
	return nil
}

// validateGiven checks the values that did not come from questions.
func validateGiven(opts *InitOptions) error {
	if opts.Name != "" {
		if err := generator.ValidateName(opts.Name); err != nil {
			return err
		}
	}
	if opts.Module != "" {
		if err := generator.ValidateModule(opts.Module); err != nil {
			return err
		}
	}
	if err := generator.ValidateDB(opts.DB); err != nil {
		return annotate(err, "database", opts.Sources[config.KeyDB])
	}
	return nil
}

// annotate adds to an input error where a value came from when it was not
// typed on this command line: a value from the environment or a config file
// is otherwise a puzzle.
func annotate(err error, what, source string) error {
	var inputErr *generator.InputError
	if !errors.As(err, &inputErr) {
		return err
	}
	var from string
	switch {
	case source == "" || source == "default" || strings.HasPrefix(source, "--"):
		return err
	case strings.HasPrefix(source, config.EnvPrefix+"_"):
		from = "set by " + source
	default:
		from = "set in the config file " + source
	}
	return &generator.InputError{
		Field:   inputErr.Field,
		Problem: fmt.Sprintf("%s (the %s is %s)", inputErr.Problem, what, from),
		Fix:     inputErr.Fix,
	}
}

// askMissing asks for the name, module and database that the command line
// did not give. It reports whether it asked anything.
func askMissing(ctx context.Context, opts *InitOptions) (bool, error) {
	if opts.Name != "" && opts.Module != "" && opts.DBGiven {
		return false, nil
	}
	p := opts.Prompter()
	cancelled := func(err error) error {
		if errors.Is(err, prompt.ErrAborted) || errors.Is(err, context.Canceled) {
			return &CancelError{Message: nothingWritten}
		}
		return err
	}
	var err error
	if opts.Name == "" {
		opts.Name, err = p.Input(ctx, "Project name",
			"Lowercase letters, digits and hyphens. It names the directory, the binary and the module.",
			"", generator.ValidateName)
		if err != nil {
			return true, cancelled(err)
		}
	}
	if opts.Module == "" {
		opts.Module, err = p.Input(ctx, "Go module path",
			"Where the code would be imported from, e.g. github.com/you/"+opts.Name+".",
			generator.DefaultModule(opts.ModulePrefix, opts.Name), generator.ValidateModule)
		if err != nil {
			return true, cancelled(err)
		}
	}
	if !opts.DBGiven {
		opts.DB, err = p.Select(ctx, "Database",
			"sqlite keeps the data in one file and needs no server; postgres runs PostgreSQL next to the app.",
			generator.DBs, opts.DB)
		if err != nil {
			return true, cancelled(err)
		}
	}
	return true, nil
}

// equivalentCommand is the command line that creates the same project
// without asking anything.
func equivalentCommand(opts *InitOptions) string {
	args := []string{"quickscale", "init", opts.Name, "--module", opts.Module, "--db", opts.DB}
	if opts.Dir != "." {
		args = append(args, "--dir", opts.Dir)
	}
	if opts.Git {
		args = append(args, "--git")
	}
	if opts.DryRun {
		args = append(args, "--dry-run")
	}
	args = append(args, "--no-input")
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " ")
}

func printDryRun(opts *InitOptions, files []generator.File, absTarget string) {
	out, cs := opts.IO.Out, opts.IO.ColorScheme()
	total := 0
	for _, f := range files {
		total += len(f.Data)
	}
	width := len(fmt.Sprint(total))
	fmt.Fprintf(out, "Would create %s in %s:\n", cs.Bold(opts.Name), absTarget)
	for _, f := range files {
		fmt.Fprintf(out, "  %*d  %s\n", width, len(f.Data), f.Path)
	}
	fmt.Fprintf(out, "  %*d  bytes in %d files\n", width, total, len(files))
	fmt.Fprintln(out, cs.Gray("Nothing was written (--dry-run)."))
}

func printNextSteps(opts *InitOptions) {
	out, cs := opts.IO.Out, opts.IO.ColorScheme()
	fmt.Fprintf(out, "\nNext steps:\n")
	fmt.Fprintf(out, "  %s\n", cs.Bold("cd "+shellQuote(projectPath(opts))))
	fmt.Fprintf(out, "  %s        %s\n", cs.Bold("make run"), cs.Gray("# start the app on this machine"))
	fmt.Fprintf(out, "  %s   %s\n", cs.Bold("quickscale up"), cs.Gray("# or start it with Docker"))
	fmt.Fprintf(out, "Then open %s\n", appURL)
}

// absProjectDir is the absolute path of the new project's directory.
func absProjectDir(opts *InitOptions) (string, error) {
	target := filepath.Join(opts.Dir, opts.Name)
	if filepath.IsAbs(target) {
		return target, nil
	}
	wd, err := opts.WorkingDir()
	if err != nil {
		return "", fmt.Errorf("locate %s: %w", target, err)
	}
	return filepath.Join(wd, target), nil
}

// projectPath is the project directory as the user would type it.
func projectPath(opts *InitOptions) string {
	if opts.Dir == "." || opts.Dir == "" {
		return opts.Name
	}
	return filepath.Join(opts.Dir, opts.Name)
}

// shellQuote quotes s for a POSIX shell when it holds anything a shell
// would treat specially.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
