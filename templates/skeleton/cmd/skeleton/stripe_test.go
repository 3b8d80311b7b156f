package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
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

// credits show says what an account owes, and credits check verifies the
// debts: a debt whose payments do not add up fails it.
func TestCreditsShowAndCheckDebts(t *testing.T) {
	ctx := context.Background()
	dbURL := dbtest.URL(t, database.SQLite)
	env := environment(map[string]string{"DATABASE_URL": dbURL, "SECRET_KEY": testSecret, "LOG_LEVEL": "error"})
	setupAccount(t, env, "owes@example.com")
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{appName}, args...), env, nil, &out, io.Discard)
		return out.String(), err
	}
	_, err := cmd("credits", "grant", "--email", "owes@example.com", "--amount", "10")
	require.NoError(t, err)
	db, err := database.Open(ctx, dbURL)
	require.NoError(t, err)
	defer db.Close()
	var user string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT id FROM users WHERE email = ?", "owes@example.com").Scan(&user))
	_, err = credits.New(db, clock.System{}).Reverse(ctx, credits.Reversal{UserID: user, Claim: "stripe-refund-ch_1", Total: 25, Reason: "refund"})
	require.NoError(t, err)

	out, err := cmd("credits", "show", "--email", "owes@example.com")
	require.NoError(t, err)
	assert.Contains(t, out, "0 credits")
	assert.Contains(t, out, "Owes 15 credits")
	out, err = cmd("credits", "check")
	require.NoError(t, err)
	assert.Contains(t, out, "every debt its payments")

	_, err = db.ExecContext(ctx, "UPDATE credit_debts SET remaining = 5")
	require.NoError(t, err)
	out, err = cmd("credits", "check")
	require.Error(t, err, "a debt that moved without a payment")
	assert.Contains(t, out, "paid, its payments say 0")
}
