package iostreams

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			assert.Equal(t, tt.want, ios.ColorEnabled(), "ColorEnabled()")
			assert.Equal(t, tt.want, ios.ErrColorEnabled(), "ErrColorEnabled()")
			bold := ios.ColorScheme().Bold("x")
			assert.Equal(t, tt.want, strings.Contains(bold, "\x1b["), "Bold(%q) = %q: escape codes", "x", bold)
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
			assert.Equal(t, tt.want, ios.CanPrompt(), "CanPrompt()")
		})
	}
}

func TestDebugf(t *testing.T) {
	ios, _, out, errOut := Test()
	ios.Debugf("hidden %d", 1)
	require.Zero(t, errOut.Len(), "Debugf wrote %q without --verbose", errOut)
	ios.SetVerbose(true)
	ios.Debugf("shown %d", 2)
	assert.Equal(t, "debug: shown 2\n", errOut.String())
	assert.Zero(t, out.Len(), "Debugf wrote to stdout: %q", out)
}

// System must see through a pipe: go test runs with stdout redirected.
func TestSystemDetectsPipes(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, isTerminal(r) || isTerminal(w), "a pipe was reported as a terminal")
}

// Off a terminal every step is a line of its own: a log file or CI output
// must not fill with spinner frames.
func TestProgressIndicatorOffATerminalPrintsLines(t *testing.T) {
	ios, _, out, errOut := Test()
	ios.StartProgressIndicatorWithLabel("compiling")
	ios.StartProgressIndicatorWithLabel("building the image")
	ios.StopProgressIndicator()
	assert.Equal(t, "compiling\nbuilding the image\n", errOut.String())
	assert.Zero(t, out.Len(), "progress went to stdout: %q", out)
}

func TestProgressIndicatorOnATerminalSpinsAndClearsItsLine(t *testing.T) {
	ios, _, out, errOut := Test()
	ios.SetStderrTTY(true)
	ios.StartProgressIndicatorWithLabel("compiling")
	ios.StartProgressIndicatorWithLabel("building the image")
	ios.StopProgressIndicator()

	got := errOut.String()
	assert.True(t, strings.HasPrefix(got, clearLine+spinnerFrames[0]+" "), "the spinner does not start with its first frame: %q", got)
	assert.True(t, strings.HasSuffix(got, clearLine), "the spinner's line is not cleared at the end: %q", got)
	assert.NotContains(t, got, "\n", "the spinner ended a line")
	assert.Zero(t, out.Len(), "progress went to stdout: %q", out)

	// Once stopped, nothing more is drawn, and stopping again is harmless.
	written := errOut.Len()
	ios.StopProgressIndicator()
	assert.Equal(t, written, errOut.Len(), "a second stop wrote to stderr")
}

func TestProgressIndicatorRestartsAfterStop(t *testing.T) {
	ios, _, _, errOut := Test()
	ios.SetStderrTTY(true)
	ios.StartProgressIndicatorWithLabel("stopping my-app")
	ios.StopProgressIndicator()
	errOut.Reset()
	ios.StartProgressIndicatorWithLabel("starting my-app")
	ios.StopProgressIndicator()
	got := errOut.String()
	assert.True(t, strings.HasPrefix(got, clearLine+spinnerFrames[0]+" starting my-app"), "the restarted spinner: %q", got)
	assert.True(t, strings.HasSuffix(got, clearLine), "the restarted spinner's line is not cleared: %q", got)
}

// TestProgressIndicatorStartsAndStopsFromManyGoroutines: a stop racing a
// start must stop the spinner it saw, never close another's channel or
// leave one spinning (run with -race).
func TestProgressIndicatorStartsAndStopsFromManyGoroutines(t *testing.T) {
	ios, _, _, errOut := Test()
	ios.SetStderrTTY(true)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				ios.StartProgressIndicatorWithLabel("working")
				ios.StopProgressIndicator()
			}
		})
	}
	wg.Wait()
	ios.StopProgressIndicator()
	ios.progress.mu.Lock()
	written := errOut.Len()
	ios.progress.mu.Unlock()
	time.Sleep(3 * spinnerInterval)
	ios.progress.mu.Lock()
	defer ios.progress.mu.Unlock()
	assert.Equal(t, written, errOut.Len(), "a spinner still draws after the last stop")
}

func TestStopWithoutStartWritesNothing(t *testing.T) {
	ios, _, _, errOut := Test()
	ios.SetStderrTTY(true)
	ios.StopProgressIndicator()
	assert.Zero(t, errOut.Len())
}
