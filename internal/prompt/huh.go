package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/huh"
)

// Huh is the terminal Prompter, drawn by charmbracelet/huh. Each question is
// its own one-field form, so a command asks only what it still needs.
type Huh struct {
	in    io.Reader
	out   io.Writer
	color bool
}

// NewHuh returns a Prompter reading keys from in and drawing on out, which
// should be the terminal's stdin and stdout. Without color the questions use
// huh's plain theme.
func NewHuh(in io.Reader, out io.Writer, color bool) *Huh {
	return &Huh{in: in, out: out, color: color}
}

func (h *Huh) run(ctx context.Context, field huh.Field) error {
	theme := huh.ThemeCharm()
	if !h.color {
		theme = huh.ThemeBase()
	}
	// Esc leaves the question as Ctrl-C does: people reach for either.
	keymap := huh.NewDefaultKeyMap()
	keymap.Quit = key.NewBinding(key.WithKeys("ctrl+c", "esc"), key.WithHelp("esc", "cancel"))
	form := huh.NewForm(huh.NewGroup(field)).
		WithInput(h.in).
		WithOutput(h.out).
		WithTheme(theme).
		WithKeyMap(keymap).
		WithShowHelp(true)
	err := form.RunWithContext(ctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		// huh reports a cancelled context as its own timeout error.
		return ctx.Err()
	case errors.Is(err, huh.ErrUserAborted):
		return ErrAborted
	default:
		return fmt.Errorf("prompt: %w", err)
	}
}

func (h *Huh) Input(ctx context.Context, title, help, defaultValue string, validate func(string) error) (string, error) {
	value := defaultValue
	field := huh.NewInput().
		Title(title).
		Description(help).
		Value(&value).
		Validate(func(s string) error {
			if validate == nil {
				return nil
			}
			return validate(strings.TrimSpace(s))
		})
	if err := h.run(ctx, field); err != nil {
		return "", err
	}
	return strings.TrimSpace(value), nil
}

func (h *Huh) Select(ctx context.Context, title, help string, options []string, defaultValue string) (string, error) {
	if len(options) == 0 {
		return "", fmt.Errorf("prompt: %q has no options to choose from", title)
	}
	value := defaultValue
	field := huh.NewSelect[string]().
		Title(title).
		Description(help).
		Options(huh.NewOptions(options...)...).
		Value(&value)
	if err := h.run(ctx, field); err != nil {
		return "", err
	}
	return value, nil
}

func (h *Huh) Confirm(ctx context.Context, title, help string, defaultValue bool) (bool, error) {
	value := defaultValue
	field := huh.NewConfirm().
		Title(title).
		Description(help).
		Value(&value)
	if err := h.run(ctx, field); err != nil {
		return false, err
	}
	return value, nil
}
