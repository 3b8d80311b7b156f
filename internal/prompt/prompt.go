// Package prompt asks the user questions on a terminal. Commands depend on
// the Prompter interface; the huh implementation draws the questions, and
// prompttest answers them in tests.
package prompt

import (
	"context"
	"errors"
)

// ErrAborted means the user left a question without answering (Esc or
// Ctrl-C): the command stops and quickscale exits with the "cancelled" code.
var ErrAborted = errors.New("the user aborted the prompt")

// Prompter asks one question at a time. Every method returns ErrAborted when
// the user aborts, and ctx's error when ctx ends first.
type Prompter interface {
	// Input asks for a line of text. The answer is trimmed of surrounding
	// space; validate (may be nil) runs on the trimmed answer and its error
	// is shown under the question until the answer passes.
	Input(ctx context.Context, title, help, defaultValue string, validate func(string) error) (string, error)
	// Select asks for one of options; defaultValue starts highlighted.
	Select(ctx context.Context, title, help string, options []string, defaultValue string) (string, error)
	// Confirm asks a yes/no question.
	Confirm(ctx context.Context, title, help string, defaultValue bool) (bool, error)
}
