package commands

import (
	"errors"
	"fmt"
)

// FlagError is a usage problem: an unknown flag or command, a bad argument,
// a value quickscale cannot use, or an answer that cannot be asked for
// because there is no terminal. It exits with ExitUsage and is followed by a
// pointer to the command's help.
type FlagError struct {
	err error
}

func (e *FlagError) Error() string { return e.err.Error() }
func (e *FlagError) Unwrap() error { return e.err }

// FlagErrorf returns a FlagError with a formatted message.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{err: fmt.Errorf(format, args...)}
}

// FlagErrorWrap marks err as a usage problem.
func FlagErrorWrap(err error) error {
	if err == nil {
		return nil
	}
	return &FlagError{err: err}
}

// SettingError is a setting that quickscale cannot use: a broken config
// file or a bad QUICKSCALE_* variable. Like a FlagError it exits with
// ExitUsage, but the command's --help would not help, so none is suggested.
type SettingError struct {
	err error
}

func (e *SettingError) Error() string { return e.err.Error() }
func (e *SettingError) Unwrap() error { return e.err }

// CancelError means the user stopped the command: Ctrl-C, Esc in a
// question, or "no" to a confirmation. Message, if set, tells them what state
// things were left in.
type CancelError struct {
	Message string
}

func (e *CancelError) Error() string {
	if e.Message == "" {
		return "cancelled"
	}
	return e.Message
}

// ErrSilent fails a command whose problem has already been reported to the
// user; nothing more is printed.
var ErrSilent = errors.New("already reported")

// ExitStatusError carries the exit status of a program quickscale ran for
// the user (the app's own subcommand, the project's tests). That program
// has already said what went wrong, so nothing more is printed; quickscale
// exits with the same status.
type ExitStatusError struct {
	Code int
}

func (e *ExitStatusError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Unwrap makes the error silent: handleError prints nothing for ErrSilent.
func (e *ExitStatusError) Unwrap() error { return ErrSilent }
