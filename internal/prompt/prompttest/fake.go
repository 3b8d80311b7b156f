// Package prompttest provides a scripted Prompter for command tests.
package prompttest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/quickscale/quickscale/internal/prompt"
)

type kind string

const (
	kindInput   kind = "Input"
	kindSelect  kind = "Select"
	kindConfirm kind = "Confirm"
)

type expectation struct {
	kind    kind
	title   string
	answers []string // Input: tried in order, as a user retyping after an error
	choice  string
	yes     bool
	err     error
}

// Asked records one question the command asked.
type Asked struct {
	Kind    string
	Title   string
	Default string   // as text; "true"/"false" for Confirm
	Options []string // Select only
	// Rejected holds the validation errors of the answers that did not pass.
	Rejected []string
}

// Fake answers questions from a script, in order. A question that is not the
// next one scripted fails the command with an error naming both, so a test
// sees exactly which question was unexpected.
type Fake struct {
	script []expectation
	Asked  []Asked
}

// New returns a Fake with an empty script: any question fails.
func New() *Fake { return &Fake{} }

// ExpectInput scripts the next question to be a text input whose title contains
// title. Each answer is run through the command's validation in turn; the
// first that passes is returned, as if the user corrected their typing.
func (f *Fake) ExpectInput(title string, answers ...string) *Fake {
	f.script = append(f.script, expectation{kind: kindInput, title: title, answers: answers})
	return f
}

// ExpectSelect scripts a choice.
func (f *Fake) ExpectSelect(title, choice string) *Fake {
	f.script = append(f.script, expectation{kind: kindSelect, title: title, choice: choice})
	return f
}

// ExpectConfirm scripts a yes/no answer.
func (f *Fake) ExpectConfirm(title string, yes bool) *Fake {
	f.script = append(f.script, expectation{kind: kindConfirm, title: title, yes: yes})
	return f
}

// ExpectAbort scripts the user pressing Esc or Ctrl-C at the next question.
func (f *Fake) ExpectAbort(title string) *Fake {
	f.script = append(f.script, expectation{title: title, err: prompt.ErrAborted})
	return f
}

// Remaining returns the titles of scripted questions that were never asked.
func (f *Fake) Remaining() []string {
	titles := make([]string, len(f.script))
	for i, e := range f.script {
		titles[i] = e.title
	}
	return titles
}

func (f *Fake) next(k kind, title string) (expectation, error) {
	if len(f.script) == 0 {
		return expectation{}, fmt.Errorf("prompttest: unexpected %s %q: nothing more is scripted", k, title)
	}
	e := f.script[0]
	if !strings.Contains(title, e.title) || (e.err == nil && e.kind != k) {
		return expectation{}, fmt.Errorf("prompttest: asked %s %q, but the script expects %s %q", k, title, e.kind, e.title)
	}
	f.script = f.script[1:]
	return e, nil
}

func (f *Fake) Input(ctx context.Context, title, help, defaultValue string, validate func(string) error) (string, error) {
	asked := Asked{Kind: string(kindInput), Title: title, Default: defaultValue}
	defer func() { f.Asked = append(f.Asked, asked) }()
	e, err := f.next(kindInput, title)
	if err != nil {
		return "", err
	}
	if e.err != nil {
		return "", e.err
	}
	for _, answer := range e.answers {
		answer = strings.TrimSpace(answer)
		if answer == "" {
			answer = defaultValue
		}
		if validate != nil {
			if err := validate(answer); err != nil {
				asked.Rejected = append(asked.Rejected, err.Error())
				continue
			}
		}
		return answer, nil
	}
	return "", fmt.Errorf("prompttest: no scripted answer to %q passed validation: %q", title, asked.Rejected)
}

func (f *Fake) Select(ctx context.Context, title, help string, options []string, defaultValue string) (string, error) {
	f.Asked = append(f.Asked, Asked{Kind: string(kindSelect), Title: title, Default: defaultValue, Options: options})
	e, err := f.next(kindSelect, title)
	if err != nil {
		return "", err
	}
	if e.err != nil {
		return "", e.err
	}
	if !slices.Contains(options, e.choice) {
		return "", fmt.Errorf("prompttest: %q is not among the options %q of %q", e.choice, options, title)
	}
	return e.choice, nil
}

func (f *Fake) Confirm(ctx context.Context, title, help string, defaultValue bool) (bool, error) {
	f.Asked = append(f.Asked, Asked{Kind: string(kindConfirm), Title: title, Default: fmt.Sprint(defaultValue)})
	e, err := f.next(kindConfirm, title)
	if err != nil {
		return false, err
	}
	if e.err != nil {
		return false, e.err
	}
	return e.yes, nil
}

var _ prompt.Prompter = (*Fake)(nil)
