package iostreams

import (
	"os"
	"strings"
	"testing"
)

func TestColorEnabled(t *testing.T) {
	tests := []struct {
		name     string
		tty      bool
		noColor  string
		disabled bool
		want     bool
	}{
		{name: "terminal", tty: true, want: true},
		{name: "not a terminal", tty: false, want: false},
		{name: "NO_COLOR set", tty: true, noColor: "1", want: false},
		{name: "NO_COLOR set to anything", tty: true, noColor: "false", want: false},
		{name: "--no-color", tty: true, disabled: true, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			ios, _, _, _ := Test()
			ios.SetStdoutTTY(tt.tty)
			ios.SetStderrTTY(tt.tty)
			ios.SetColorDisabled(tt.disabled)
			if got := ios.ColorEnabled(); got != tt.want {
				t.Errorf("ColorEnabled() = %v, want %v", got, tt.want)
			}
			if got := ios.ErrColorEnabled(); got != tt.want {
				t.Errorf("ErrColorEnabled() = %v, want %v", got, tt.want)
			}
			bold := ios.ColorScheme().Bold("x")
			if hasEscape := strings.Contains(bold, "\x1b["); hasEscape != tt.want {
				t.Errorf("Bold(%q) = %q, escape codes: %v, want %v", "x", bold, hasEscape, tt.want)
			}
		})
	}
}

func TestCanPrompt(t *testing.T) {
	tests := []struct {
		name          string
		stdin, stdout bool
		noInput       bool
		want          bool
	}{
		{name: "both terminals", stdin: true, stdout: true, want: true},
		{name: "stdin piped", stdin: false, stdout: true, want: false},
		{name: "stdout piped", stdin: true, stdout: false, want: false},
		{name: "--no-input", stdin: true, stdout: true, noInput: true, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := Test()
			ios.SetStdinTTY(tt.stdin)
			ios.SetStdoutTTY(tt.stdout)
			ios.SetNeverPrompt(tt.noInput)
			if got := ios.CanPrompt(); got != tt.want {
				t.Errorf("CanPrompt() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDebugf(t *testing.T) {
	ios, _, out, errOut := Test()
	ios.Debugf("hidden %d", 1)
	if errOut.Len() != 0 {
		t.Fatalf("Debugf wrote %q without --verbose", errOut.String())
	}
	ios.SetVerbose(true)
	ios.Debugf("shown %d", 2)
	if got := errOut.String(); got != "debug: shown 2\n" {
		t.Errorf("stderr = %q", got)
	}
	if out.Len() != 0 {
		t.Errorf("Debugf wrote to stdout: %q", out.String())
	}
}

// System must see through a pipe: go test runs with stdout redirected.
func TestSystemDetectsPipes(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(r) || isTerminal(w) {
		t.Error("a pipe was reported as a terminal")
	}
}
