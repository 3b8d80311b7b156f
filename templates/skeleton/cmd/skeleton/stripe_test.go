package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// The stripe commands are on the command line, say what they need when
// payments are off, and refuse a command line that cannot run.
func TestStripeCommands(t *testing.T) {
	ctx := context.Background()
	env := environment(map[string]string{"DATABASE_URL": dbtest.URL(t, database.SQLite), "SECRET_KEY": testSecret, "LOG_LEVEL": "error"})
	require.NoError(t, run(ctx, []string{appName, "migrate", "up"}, env, nil, io.Discard, io.Discard))
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{appName}, args...), env, nil, &out, io.Discard)
		return out.String(), err
	}
	out, err := cmd("stripe", "--help")
	require.NoError(t, err)
	assert.Contains(t, out, "webhook create")
	out, err = cmd("stripe", "webhook", "create", "--help")
	require.NoError(t, err)
	assert.Contains(t, out, "pinned to API version 2023-10-16")

	_, err = cmd("stripe", "sync")
	require.ErrorIs(t, err, errStripeOff, "payments off")
	assert.Equal(t, 1, exitCode(err))
	_, err = cmd("stripe", "webhook", "create")
	assert.Equal(t, 2, exitCode(err), "no --url")
	assert.ErrorContains(t, err, "needs --url")
	_, err = cmd("stripe", "webhook", "create", "--url", "https://example.com/stripe/webhook")
	require.ErrorIs(t, err, errStripeOff)
}
