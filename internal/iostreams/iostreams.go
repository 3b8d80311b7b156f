// Package iostreams holds the three standard streams of a command together
// with what the command may do with them: whether each end is a terminal,
// whether colour is wanted, whether the user can be asked questions, and
// the progress indicator shown on stderr while long work runs.
package iostreams

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams is the command's view of stdin, stdout and stderr.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool

	colorDisabled bool // --no-color or the no_color setting
	neverPrompt   bool // --no-input
	verbose       bool // --verbose

	progress progressIndicator

	getenv func(string) string
}

// System returns the process's own streams, with terminal detection.
func System() *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
		getenv:    os.Getenv,
	}
}

// Test returns streams backed by buffers, none of them a terminal until the
// test says so with SetStdinTTY and friends. NO_COLOR is still read from the
// process environment, so a test can set it with t.Setenv.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, getenv: os.Getenv}, in, out, errOut
}

func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

func (s *IOStreams) IsStdinTTY() bool  { return s.stdinTTY }
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

func (s *IOStreams) SetStdinTTY(v bool)  { s.stdinTTY = v }
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// SetColorDisabled records an explicit request for plain output (--no-color).
func (s *IOStreams) SetColorDisabled(v bool) { s.colorDisabled = v }

// SetNeverPrompt records --no-input: no question is asked even on a terminal.
func (s *IOStreams) SetNeverPrompt(v bool) { s.neverPrompt = v }

// SetVerbose turns on the debug lines written by Debugf.
func (s *IOStreams) SetVerbose(v bool) { s.verbose = v }

// Verbose reports whether --verbose was given.
func (s *IOStreams) Verbose() bool { return s.verbose }

// ColorEnabled reports whether stdout gets colour: only on a terminal, and
// neither NO_COLOR (https://no-color.org: any non-empty value) nor --no-color.
func (s *IOStreams) ColorEnabled() bool {
	return s.stdoutTTY && s.colorAllowed()
}

// ErrColorEnabled is ColorEnabled for stderr, which may be a terminal while
// stdout is redirected.
func (s *IOStreams) ErrColorEnabled() bool {
	return s.stderrTTY && s.colorAllowed()
}

func (s *IOStreams) colorAllowed() bool {
	return !s.colorDisabled && s.getenv("NO_COLOR") == ""
}

// CanPrompt reports whether the user can be asked: stdin and stdout are both
// terminals and --no-input was not given. Prompting a pipe would hang a
// script or read an answer meant for something else.
func (s *IOStreams) CanPrompt() bool {
	return s.stdinTTY && s.stdoutTTY && !s.neverPrompt
}

// ColorScheme returns the colour helpers for text written to stdout.
func (s *IOStreams) ColorScheme() *ColorScheme {
	return &ColorScheme{enabled: s.ColorEnabled()}
}

// ErrColorScheme returns the colour helpers for text written to stderr.
func (s *IOStreams) ErrColorScheme() *ColorScheme {
	return &ColorScheme{enabled: s.ErrColorEnabled()}
}

// Debugf writes one line of detail to stderr when --verbose is on. It never
// writes to stdout, so verbose output cannot corrupt what a script reads.
func (s *IOStreams) Debugf(format string, args ...any) {
	if !s.verbose {
		return
	}
	cs := s.ErrColorScheme()
	fmt.Fprintln(s.ErrOut, cs.Gray("debug: "+fmt.Sprintf(format, args...)))
}
