package commands

import (
	"context"

	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/prompt"
)

// confirmOrYes asks question on a terminal; without one, --yes must have
// been given. action names what needs the confirmation. It returns a
// CancelError when the user says no.
func confirmOrYes(ctx context.Context, ios *iostreams.IOStreams, prompter func() prompt.Prompter, yes bool, action, question, help, declined string) error {
	if yes {
		return nil
	}
	if !ios.CanPrompt() {
		return FlagErrorf("%s needs confirmation and there is no terminal to ask on; pass --yes to confirm", action)
	}
	ok, err := prompter().Confirm(ctx, question, help, false)
	if err != nil {
		return err
	}
	if !ok {
		return &CancelError{Message: declined}
	}
	return nil
}
