package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/generator"
	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/prompt"
)

// ExitCode is quickscale's exit status. Scripts depend on these numbers: add
// new ones at the end of the list, never renumber, and list each one in
// exitCodes so that `quickscale --help` and the README show it.
type ExitCode int

const (
	// ExitOK: the command did what was asked.
	ExitOK ExitCode = 0
	// ExitError: the command failed; the message says why.
	ExitError ExitCode = 1
	// ExitUsage: the command line or a setting is wrong (unknown command or
	// flag, invalid name, module or database, target directory not usable),
	// or an answer is missing and there is no terminal to ask on.
	ExitUsage ExitCode = 2
	// ExitCancel: the user stopped the command (Ctrl-C, Esc in a question,
	// declined a confirmation).
	ExitCancel ExitCode = 3
)

// exitCodes documents every code, in order, for the root command's help.
var exitCodes = []struct {
	Code    ExitCode
	Meaning string
}{
	{ExitOK, "success"},
	{ExitError, "the command failed"},
	{ExitUsage, "usage error: a bad command, flag, argument or setting, or an answer that is missing and cannot be asked for without a terminal"},
	{ExitCancel, "cancelled by the user (Ctrl-C, Esc, or declining a confirmation)"},
}

// passThroughNote documents ExitStatusError: those commands hand on the
// status of the program they ran instead of the codes above.
const passThroughNote = "quickscale manage and quickscale test exit with the status of the program they run."

func exitCodesHelp() string {
	var b strings.Builder
	for _, c := range exitCodes {
		prefix := fmt.Sprintf("  %d  ", c.Code)
		b.WriteString(prefix + wrapWords(c.Meaning, len(prefix), 76) + "\n")
	}
	b.WriteString(wrapWords(passThroughNote, 0, 76) + "\n")
	return b.String()
}

// wrapWords breaks text into lines of at most width columns; lines after
// the first are indented by indent spaces, the first is assumed to start
// there already.
func wrapWords(text string, indent, width int) string {
	var b strings.Builder
	col := indent
	for i, word := range strings.Fields(text) {
		if i > 0 && col+1+len(word) > width {
			b.WriteString("\n" + strings.Repeat(" ", indent))
			col = indent
		} else if i > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += len(word)
	}
	return b.String()
}

// exitCodeFor is the one place where an error becomes an exit code.
func exitCodeFor(err error) ExitCode {
	var (
		cancelErr  *CancelError
		flagErr    *FlagError
		settingErr *SettingError
		inputErr   *generator.InputError
		statusErr  *ExitStatusError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &statusErr):
		return ExitCode(statusErr.Code)
	case errors.As(err, &cancelErr), errors.Is(err, prompt.ErrAborted), errors.Is(err, context.Canceled):
		return ExitCancel
	case errors.As(err, &flagErr), errors.As(err, &settingErr), errors.As(err, &inputErr):
		return ExitUsage
	default:
		return ExitError
	}
}

// handleError reports err on stderr and returns the exit code. cmd is the
// command that failed, if cobra got as far as finding it.
func handleError(ios *iostreams.IOStreams, cmd *cobra.Command, err error) ExitCode {
	code := exitCodeFor(err)
	if err == nil || errors.Is(err, ErrSilent) {
		return code
	}
	cs := ios.ErrColorScheme()
	if code == ExitCancel {
		var cancelErr *CancelError
		msg := "Cancelled."
		if errors.As(err, &cancelErr) && cancelErr.Message != "" {
			msg = cancelErr.Message
		}
		fmt.Fprintln(ios.ErrOut, msg)
		return code
	}
	fmt.Fprintf(ios.ErrOut, "%s %s\n", cs.Red("Error:"), message(err))
	var flagErr *FlagError
	if errors.As(err, &flagErr) && cmd != nil {
		fmt.Fprintf(ios.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// message returns what the user reads: a generator InputError on its own,
// without the wrapping context that only helps a developer.
func message(err error) string {
	var inputErr *generator.InputError
	if errors.As(err, &inputErr) {
		return inputErr.Error()
	}
	return err.Error()
}
