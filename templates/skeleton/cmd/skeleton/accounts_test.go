package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

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
			if err := run(ctx, []string{appName, "migrate", "up"}, env, nil, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			const password = "a strong admin passphrase"
			var out bytes.Buffer
			err := run(ctx, []string{appName, "createadmin", "--email", "Root@Example.com", "--name", "Root", "--password-stdin"},
				env, strings.NewReader(password+"\n"), &out, io.Discard)
			if err != nil || !strings.Contains(out.String(), "Created administrator") {
				t.Fatalf("createadmin = %q, %v", out.String(), err)
			}
			if strings.Contains(out.String(), password) {
				t.Fatal("createadmin echoed the password")
			}
			db, err := database.Open(ctx, env("DATABASE_URL"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var role, name string
			var verified bool
			if err := db.QueryRowContext(ctx, "SELECT role, name, email_verified_at IS NOT NULL FROM users WHERE email_normalized = ?", "root@example.com").
				Scan(&role, &name, &verified); err != nil || role != "admin" || name != "Root" || !verified {
				t.Fatalf("stored admin: role %q, name %q, verified %v, %v", role, name, verified, err)
			}

			// Again: the account is kept and its password replaced.
			out.Reset()
			if err := run(ctx, []string{appName, "createadmin", "--email", "root@example.com", "--password-stdin"},
				env, strings.NewReader("an even stronger passphrase\n"), &out, io.Discard); err != nil || !strings.Contains(out.String(), "now an administrator") {
				t.Fatalf("second createadmin = %q, %v", out.String(), err)
			}

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
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%v: %v, want an error mentioning %q", tc.args, err, tc.want)
				}
			}
		})
	}
}

func TestSeedDemoRefusesProduction(t *testing.T) {
	ctx := context.Background()
	url := dbtest.URL(t, database.SQLite)
	dev := environment(map[string]string{"DATABASE_URL": url})
	if err := run(ctx, []string{appName, "migrate", "up"}, dev, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	prod := environment(map[string]string{"DATABASE_URL": url, "APP_ENV": "production", "SECRET_KEY": testSecret,
		"EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com"})
	err := run(ctx, []string{appName, "seed-demo"}, prod, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "production") {
		t.Fatalf("seed-demo in production = %v, want a refusal", err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{appName, "seed-demo"}, dev, nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), demoUserEmail) {
		t.Fatalf("seed-demo in development = %q, %v", out.String(), err)
	}
	if errors.As(err, new(usageError)) {
		t.Fatal("unexpected usage error")
	}
}
