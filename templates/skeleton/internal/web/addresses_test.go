package web

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
)

// Row 48: an address that Unicode case folding would turn into someone
// else's (a dotted capital I, a Kelvin sign, a long s) is refused with a
// message saying what to type instead, so it never takes the real owner's
// place; the owner signs up, and gets their own mail, as if it had never
// been tried. ASCII case still makes no difference, and an international
// domain works in its xn-- form.
func TestLookAlikeAddressesCannotSquat(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		lookAlikes := []struct{ lookAlike, owner string }{
			{"l\u0130sa@example.com", "lisa@example.com"},            // İ, which strings.ToLower makes i
			{"\u212Aate@example.com", "kate@example.com"},            // the Kelvin sign, which it makes k
			{"jo\u017Fe@example.com", "jose@example.com"},            // ſ, which case folding makes s
			{"lisa@exam\u0440le.com", "lisa@example.com"},            // a Cyrillic р in the domain
			{"l\u0131sa@example.com", "lisa@example.com"},            // the dotless ı
			{"ada@b\u00FCcher.example", "ada@xn--bcher-kva.example"}, // a domain not in its xn-- form
		}
		for _, tc := range lookAlikes {
			resp, body := a.client().post("/signup", url.Values{"email": {tc.lookAlike}, "name": {"Squatter"}, "password": {goodPassword}})
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "sign-up as %q = %d, want 422 refusing the address:\n%s", tc.lookAlike, resp.StatusCode, body)
			assert.Contains(t, body, "Write the email address in ASCII", "sign-up as %q: the page does not say what is wrong with the address", tc.lookAlike)
			assert.Contains(t, body, "xn--", "sign-up as %q: the page does not say how to write an international domain", tc.lookAlike)
			for _, path := range []string{"/password/reset", "/verify/resend"} {
				resp, _ := a.client().post(path, url.Values{"email": {tc.lookAlike}})
				assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s for %q = %d, want 422 refusing the address", path, tc.lookAlike, resp.StatusCode)
			}
		}
		// Past the per-client limits of the sign-ups and resets above.
		a.clock.Advance(time.Minute)

		for _, owner := range []string{"lisa@example.com", "kate@example.com", "jose@example.com", "ada@xn--bcher-kva.example"} {
			signUp(t, a, owner, "Owner")
			resp, _ := a.client().post("/password/reset", url.Values{"email": {owner}})
			require.Equal(t, http.StatusOK, resp.StatusCode, "reset for %s = %d", owner, resp.StatusCode)
			a.lastLink(t, owner, "/password/reset/confirm")
		}
		for _, tc := range lookAlikes {
			assert.Empty(t, a.mails(t, tc.lookAlike), "mail for %s went to the look-alike %q", tc.owner, tc.lookAlike)
		}
		// ASCII case still names one account.
		c := a.client()
		login(t, c, "LISA@Example.COM", goodPassword)
		resp, body := a.client().post("/signup", url.Values{"email": {"Kate@EXAMPLE.com"}, "name": {"Again"}, "password": {goodPassword}})
		wantRedirect(t, resp, http.StatusSeeOther, "/signup/done")
		msgs := a.mails(t, "kate@example.com")
		require.Contains(t, msgs[len(msgs)-1].Subject, "tried to sign up", "a sign-up as Kate@EXAMPLE.com did not tell the owner of kate@example.com:\n%s", body)
	})
}

// rekeyMigration names the migration that rebuilds the uniqueness keys.
const rekeyMigration = "ascii_email_keys"

// Row 48: the keys of accounts made before the ASCII rule were built by
// Unicode lower-casing, which gave the dotted capital İ and the Kelvin
// sign the keys of the ASCII letters. Rows stored that way at the schema
// before the rekey are rekeyed by it: every key is the address with only
// A to Z lower-cased. The look-alike accounts keep their owners, who still
// sign in, and no longer hold the ASCII address, whose owner signs up.
func TestLookAlikeKeysAreRekeyedByTheMigration(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, dialect)
			m, err := migrate.New(db, clock.System{})
			require.NoError(t, err)
			states, err := m.Status(ctx)
			require.NoError(t, err)
			rekey := slices.IndexFunc(states, func(s migrate.State) bool { return s.Name == rekeyMigration })
			require.GreaterOrEqual(t, rekey, 0, "no migration named %s", rekeyMigration)
			for range len(states) - rekey {
				_, err := m.Down(ctx)
				require.NoError(t, err)
			}

			hash, err := accounts.NewHasher(fastParams).Hash(ctx, goodPassword)
			require.NoError(t, err)
			// The rows as the old code stored them: the key is
			// strings.ToLower of the address.
			rows := map[string]string{ // address: the key it must have after the migration
				"l\u0130sa@example.com": "l\u0130sa@example.com",
				"\u212Aate@Example.com": "\u212Aate@example.com",
				"J\u00D6RG@Example.com": "j\u00D6rg@example.com",
				"Ada@Example.COM":       "ada@example.com",
			}
			for address := range rows {
				_, err := db.ExecContext(ctx, `INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, email_verified_at, password_changed_at, created_at)
					VALUES (?, ?, ?, 'Legacy', ?, 'user', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
					rand.Text(), address, strings.ToLower(address), hash)
				require.NoError(t, err, "insert the old row of %q", address)
			}
			_, err = m.Up(ctx)
			require.NoError(t, err, "migrate up over the old rows")
			for address, want := range rows {
				var key string
				require.NoError(t, db.QueryRowContext(ctx, "SELECT email_normalized FROM users WHERE email = ?", address).Scan(&key))
				assert.Equal(t, want, key, "the key of %q after the migration", address)
				assert.Equal(t, accounts.NormalizeEmail(address), key, "the key of %q is not the one its sign-in looks up", address)
			}

			a := newApp(t, dialect, options{db: db, baseURL: "https://example.com"})
			for address := range rows {
				login(t, a.client(), address, goodPassword)
			}
			signUp(t, a, "lisa@example.com", "Lisa")
			signUp(t, a, "kate@example.com", "Kate")
			assert.Empty(t, a.mails(t, "l\u0130sa@example.com"), "the look-alike account got the real owner's mail")
		})
	}
}
