package prompttest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/quickscale/quickscale/internal/prompt"
)

func TestFakeAnswersInOrder(t *testing.T) {
	ctx := context.Background()
	f := New().ExpectInput("Name", "Bad", "good").ExpectSelect("Database", "postgres").ExpectConfirm("Sure", true)
	validate := func(s string) error {
		if s == "Bad" {
			return errors.New("bad name")
		}
		return nil
	}
	if got, err := f.Input(ctx, "Project Name", "", "", validate); err != nil || got != "good" {
		t.Errorf("Input = %q, %v", got, err)
	}
	if got, err := f.Select(ctx, "Database", "", []string{"sqlite", "postgres"}, "sqlite"); err != nil || got != "postgres" {
		t.Errorf("Select = %q, %v", got, err)
	}
	if got, err := f.Confirm(ctx, "Sure?", "", false); err != nil || !got {
		t.Errorf("Confirm = %v, %v", got, err)
	}
	if len(f.Remaining()) != 0 {
		t.Errorf("Remaining = %q", f.Remaining())
	}
	if len(f.Asked) != 3 || strings.Join(f.Asked[0].Rejected, ",") != "bad name" {
		t.Errorf("Asked = %+v", f.Asked)
	}
}

func TestFakeEmptyAnswerTakesTheDefault(t *testing.T) {
	f := New().ExpectInput("Module", "")
	if got, err := f.Input(context.Background(), "Module", "", "example.com/x", nil); err != nil || got != "example.com/x" {
		t.Errorf("Input = %q, %v", got, err)
	}
}

func TestFakeRejectsUnexpectedQuestions(t *testing.T) {
	ctx := context.Background()
	if _, err := New().Input(ctx, "Name", "", "", nil); err == nil {
		t.Error("an unscripted question was answered")
	}
	if _, err := New().ExpectInput("Name", "x").Select(ctx, "Name", "", []string{"x"}, ""); err == nil {
		t.Error("a Select was answered from an Input script")
	}
	if _, err := New().ExpectSelect("Database", "mysql").Select(ctx, "Database", "", []string{"sqlite"}, ""); err == nil {
		t.Error("a choice outside the options was returned")
	}
	if _, err := New().ExpectInput("Name", "Bad").Input(ctx, "Name", "", "", func(string) error { return errors.New("no") }); err == nil {
		t.Error("an answer that fails validation was returned")
	}
	if _, err := New().ExpectAbort("Name").Input(ctx, "Name", "", "", nil); !errors.Is(err, prompt.ErrAborted) {
		t.Errorf("abort: error = %v", err)
	}
}
