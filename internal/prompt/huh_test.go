package prompt

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive the real huh forms: bubbletea reads the keys from a
// plain reader exactly as it reads them from a terminal in raw mode.

const (
	enter     = "\r"
	ctrlC     = "\x03"
	esc       = "\x1b"
	backspace = "\x7f"
	down      = "\x1b[B"
)

func TestHuhInput(t *testing.T) {
	h := NewHuh(strings.NewReader("  my-app  "+enter), io.Discard, false)
	got, err := h.Input(context.Background(), "Project name", "", "", nil)
	require.NoError(t, err)
	assert.Equal(t, "my-app", got, "Input() = %q, want %q", got, "my-app")
}

func TestHuhInputDefault(t *testing.T) {
	h := NewHuh(strings.NewReader(enter), io.Discard, true)
	got, err := h.Input(context.Background(), "Module", "", "example.com/my-app", nil)
	require.NoError(t, err)
	assert.Equal(t, "example.com/my-app", got, "Input() = %q, want the default", got)
}

func TestHuhInputValidatesUntilAccepted(t *testing.T) {
	var seen []string
	validate := func(s string) error {
		seen = append(seen, s)
		if s != "ok" {
			return fmt.Errorf("%q is not ok", s)
		}
		return nil
	}
	keys := "no" + enter + backspace + backspace + "ok" + enter
	h := NewHuh(strings.NewReader(keys), io.Discard, false)
	got, err := h.Input(context.Background(), "Answer", "", "", validate)
	require.NoError(t, err)
	assert.Equal(t, "ok", got, "Input() = %q, want %q", got, "ok")
	// huh validates again when the form submits, so "ok" may be seen twice.
	require.GreaterOrEqual(t, len(seen), 2, "validate saw %q, want \"no\" then \"ok\"", seen)
	assert.Equal(t, "no", seen[0], "validate saw %q first", seen)
	for _, s := range seen[1:] {
		assert.Equal(t, "ok", s, "validate saw %q after \"no\"", seen)
	}
}

func TestHuhSelect(t *testing.T) {
	options := []string{"sqlite", "postgres"}
	tests := []struct {
		name, keys, def, want string
	}{
		{name: "default", keys: enter, def: "postgres", want: "postgres"},
		{name: "first when no default", keys: enter, want: "sqlite"},
		{name: "arrow down", keys: down + enter, def: "sqlite", want: "postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHuh(strings.NewReader(tt.keys), io.Discard, false)
			got, err := h.Select(context.Background(), "Database", "", options, tt.def)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "Select() = %q, want %q", got, tt.want)
		})
	}
}

func TestHuhConfirm(t *testing.T) {
	tests := []struct {
		keys string
		def  bool
		want bool
	}{
		{keys: enter, def: true, want: true},
		{keys: enter, def: false, want: false},
		{keys: "y", def: false, want: true},
		{keys: "n", def: true, want: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q default %v", tt.keys, tt.def), func(t *testing.T) {
			h := NewHuh(strings.NewReader(tt.keys), io.Discard, false)
			got, err := h.Confirm(context.Background(), "Continue?", "", tt.def)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "Confirm() = %v, want %v", got, tt.want)
		})
	}
}

func TestHuhAbort(t *testing.T) {
	h := NewHuh(strings.NewReader("my-"+ctrlC), io.Discard, false)
	_, err := h.Input(context.Background(), "Project name", "", "", nil)
	assert.ErrorIs(t, err, ErrAborted, "Input() error = %v, want ErrAborted", err)
	h = NewHuh(strings.NewReader("my-"+esc), io.Discard, false)
	_, err = h.Input(context.Background(), "Project name", "", "", nil)
	assert.ErrorIs(t, err, ErrAborted, "Input() after Esc: error = %v, want ErrAborted", err)
	h = NewHuh(strings.NewReader(ctrlC), io.Discard, false)
	_, err = h.Select(context.Background(), "Database", "", []string{"a", "b"}, "")
	assert.ErrorIs(t, err, ErrAborted, "Select() error = %v, want ErrAborted", err)
}

func TestHuhContextCancelled(t *testing.T) {
	// A pipe nobody writes to: the form waits for keys until ctx ends.
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := NewHuh(r, io.Discard, false)
	_, err := h.Input(ctx, "Project name", "", "", nil)
	assert.ErrorIs(t, err, context.Canceled, "Input() error = %v, want context.Canceled", err)
}

func TestHuhSelectWithoutOptions(t *testing.T) {
	h := NewHuh(strings.NewReader(enter), io.Discard, false)
	_, err := h.Select(context.Background(), "Database", "", nil, "")
	assert.Error(t, err, "Select() with no options succeeded")
}
