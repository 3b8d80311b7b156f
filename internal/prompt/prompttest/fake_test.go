package prompttest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

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
	name, err := f.Input(ctx, "Project Name", "", "", validate)
	assert.NoError(t, err, "Input")
	assert.Equal(t, "good", name, "Input")
	db, err := f.Select(ctx, "Database", "", []string{"sqlite", "postgres"}, "sqlite")
	assert.NoError(t, err, "Select")
	assert.Equal(t, "postgres", db, "Select")
	sure, err := f.Confirm(ctx, "Sure?", "", false)
	assert.NoError(t, err, "Confirm")
	assert.True(t, sure, "Confirm")
	assert.Empty(t, f.Remaining(), "Remaining = %q", f.Remaining())
	if assert.Len(t, f.Asked, 3, "Asked = %+v", f.Asked) {
		assert.Equal(t, []string{"bad name"}, f.Asked[0].Rejected, "Asked = %+v", f.Asked)
	}
}

func TestFakeEmptyAnswerTakesTheDefault(t *testing.T) {
	f := New().ExpectInput("Module", "")
	got, err := f.Input(context.Background(), "Module", "", "example.com/x", nil)
	assert.NoError(t, err, "Input")
	assert.Equal(t, "example.com/x", got, "Input")
}

func TestFakeRejectsUnexpectedQuestions(t *testing.T) {
	ctx := context.Background()
	_, err := New().Input(ctx, "Name", "", "", nil)
	assert.Error(t, err, "an unscripted question was answered")
	_, err = New().ExpectInput("Name", "x").Select(ctx, "Name", "", []string{"x"}, "")
	assert.Error(t, err, "a Select was answered from an Input script")
	_, err = New().ExpectSelect("Database", "mysql").Select(ctx, "Database", "", []string{"sqlite"}, "")
	assert.Error(t, err, "a choice outside the options was returned")
	_, err = New().ExpectInput("Name", "Bad").Input(ctx, "Name", "", "", func(string) error { return errors.New("no") })
	assert.Error(t, err, "an answer that fails validation was returned")
	_, err = New().ExpectAbort("Name").Input(ctx, "Name", "", "", nil)
	assert.ErrorIs(t, err, prompt.ErrAborted, "abort")
}
