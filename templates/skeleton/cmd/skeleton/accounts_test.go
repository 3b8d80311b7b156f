package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// createadmin as `quickscale manage` and CI call it: the password on
// standard input, then a login-ready admin in the database.
func TestCreateAdmin(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			env := environment(map[string]string{"DATABASE_URL": dbtest.URL(t, dialect), "SECRET_KEY": testSecret})
			require.NoError(t, run(ctx, []string{appName, "migrate", "up"}, env, nil, io.Discard, io.Discard))
			const password = "a strong admin passphrase"
			var out bytes.Buffer
			err := run(ctx, []string{appName, "createadmin", "--email", "Root@Example.com", "--name", "Root", "--password-stdin"},
				env, strings.NewReader(password+"\n"), &out, io.Discard)
			require.NoError(t, err, "createadmin")
			require.Contains(t, out.String(), "Created administrator", "createadmin")
			require.NotContains(t, out.String(), password, "createadmin echoed the password")
			db, err := database.Open(ctx, env("DATABASE_URL"))
			require.NoError(t, err)
			defer db.Close()
			var role, name string
			var verified bool
			require.NoError(t, db.QueryRowContext(ctx, "SELECT role, name, email_verified_at IS NOT NULL FROM users WHERE email_normalized = ?", "root@example.com").
				Scan(&role, &name, &verified))
			require.Equal(t, "admin", role, "stored admin")
			require.Equal(t, "Root", name, "stored admin")
			require.True(t, verified, "the stored admin's address is verified")

			// Again: the account is kept and its password replaced.
			out.Reset()
			require.NoError(t, run(ctx, []string{appName, "createadmin", "--email", "root@example.com", "--password-stdin"},
				env, strings.NewReader("an even stronger passphrase\n"), &out, io.Discard), "second createadmin")
			require.Contains(t, out.String(), "now an administrator", "second createadmin")

			for _, tc := range []struct {
				args  []string
				stdin string
				want  string
			}{
				{[]string{"createadmin", "--password-stdin"}, "x\n", "--email"},
				{[]string{"createadmin", "--email", "a@example.com"}, "", "not a terminal"},
				{[]string{"createadmin", "--email", "a@example.com", "--password-stdin"}, "", "no password"},
				{[]string{"createadmin", "--email", "a@example.com", "--password-stdin"}, "short\n", "at least 12"},
				{[]string{"createadmin", "--email", "not-an-address", "--password-stdin"}, "a strong admin passphrase\n", "email address"},
			} {
				err := run(ctx, append([]string{appName}, tc.args...), env, strings.NewReader(tc.stdin), io.Discard, io.Discard)
				assert.ErrorContains(t, err, tc.want, "%v", tc.args)
			}
		})
	}
}

func TestSeedDemoRefusesProduction(t *testing.T) {
	ctx := context.Background()
	url := dbtest.URL(t, database.SQLite)
	dev := environment(map[string]string{"DATABASE_URL": url})
	require.NoError(t, run(ctx, []string{appName, "migrate", "up"}, dev, nil, io.Discard, io.Discard))
	prod := environment(map[string]string{"DATABASE_URL": url, "APP_ENV": "production", "SECRET_KEY": testSecret,
		"EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com"})
	err := run(ctx, []string{appName, "seed-demo"}, prod, nil, io.Discard, io.Discard)
	require.ErrorContains(t, err, "production", "seed-demo in production is refused")
	require.False(t, errors.As(err, new(usageError)), "a refusal in production is no usage error")
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{appName, "seed-demo"}, dev, nil, &out, io.Discard), "seed-demo in development")
	require.Contains(t, out.String(), demoUserEmail, "seed-demo in development")
}
