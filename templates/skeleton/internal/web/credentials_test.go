package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// The tests of this file attack credentials that outlive the state of the
// account they were issued for: a deactivation, a password change or
// reset, an email change, a deletion.

var keyPattern = regexp.MustCompile(`sk_[a-z2-7]{8}_[a-z2-7]{26}`)

// setActive has the admin client activate or deactivate the user.
func setActive(t testing.TB, admin *client, userID string, active bool) {
	t.Helper()
	v := "false"
	if active {
		v = "true"
	}
	resp, _ := admin.post("/admin/users/"+userID+"/active", url.Values{"active": {v}})
	wantRedirect(t, resp, http.StatusSeeOther, "/admin/users/"+userID)
}

// Row 34: a deactivated user's API keys are refused at once, for every
// endpoint, and work again when the account is activated again.
func TestDeactivatedUsersAPIKeysRefused(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		userID, token := apiClientFor(t, a, "keys-off@example.com")
		grant(t, a, userID, 5)
		admin := makeAdmin(t, a, "boss-k@example.com")
		resp := a.call(t, "GET", "/api/v1/balance", token, "", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "the key does not work before the deactivation: %d", resp.StatusCode)

		setActive(t, admin, userID, false)
		for _, c := range []struct{ method, path, key, body string }{
			{"GET", "/api/v1/balance", "", ""},
			{"POST", "/api/v1/services/word-count/runs", "after-deactivation", `{"input": {"text": "still here"}}`},
			{"GET", "/api/v1/journal", "", ""},
		} {
			var e apiErr
			resp := a.call(t, c.method, c.path, token, c.key, c.body, &e)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s with a deactivated user's key = %d %+v, want 401", c.method, c.path, resp.StatusCode, e)
			assert.Equal(t, "invalid_api_key", e.Error.Code, "%s %s with a deactivated user's key = %d %+v, want 401", c.method, c.path, resp.StatusCode, e)
		}
		var bal struct{ Balance int64 }
		setActive(t, admin, userID, true)
		resp = a.call(t, "GET", "/api/v1/balance", token, "", "", &bal)
		require.Equal(t, http.StatusOK, resp.StatusCode, "the key of a reactivated user = %d, want 200", resp.StatusCode)
		require.Equal(t, int64(5), bal.Balance, "a refused run spent credits: balance %d, want 5", bal.Balance)
	})
}

// Row 35: the account takeover of the issue. An attacker holding a
// session asks to move the address to his own; the victim resets the
// password; the attacker's confirmation link no longer works.
func TestEmailChangeLinkDiesWithPasswordReset(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		signUp(t, a, "victim@example.com", "Victim")
		attacker := a.client()
		login(t, attacker, "victim@example.com", goodPassword)
		resp, _ := attacker.post("/settings/email", url.Values{"email": {"attacker@evil.example"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		link := a.lastLink(t, "attacker@evil.example", "/email/confirm")

		// Told by the notice, the victim resets the password.
		a.client().post("/password/reset", url.Values{"email": {"victim@example.com"}})
		reset := a.lastLink(t, "victim@example.com", "/password/reset/confirm")
		resp, _ = a.client().post("/password/reset/confirm", url.Values{"token": {reset}, "password": {"a brand new passphrase"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/login")
		require.False(t, signedInAs(t, attacker, "Victim"), "the attacker's session survived the reset")

		resp, _ = attacker.get("/email/confirm?token=" + link)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "GET the attacker's email change link after the reset = %d, want 400", resp.StatusCode)
		resp, _ = attacker.post("/email/confirm", url.Values{"token": {link}})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "POST the attacker's email change link after the reset = %d, want 400", resp.StatusCode)
		u, err := a.acct.Users.ByEmail(ctx, "victim@example.com")
		require.NoError(t, err, "the account lost the victim's address")
		_, err = a.acct.Users.ByEmail(ctx, "attacker@evil.example")
		require.ErrorIs(t, err, accounts.ErrNotFound, "the attacker's address names the account %s", u.ID)
	})
}

// Row 35: a reset link dies when the password or the address changes
// after it was sent, or when the account is deactivated.
func TestResetLinkDiesWhenTheAccountChanges(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		c := signUp(t, a, "ada@example.com", "Ada")
		refused := func(link, when string) {
			t.Helper()
			resp, _ := a.client().get("/password/reset/confirm?token=" + link)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "GET a reset link after %s = %d, want 400", when, resp.StatusCode)
			resp, _ = a.client().post("/password/reset/confirm", url.Values{"token": {link}, "password": {"an intruder's passphrase"}})
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "POST a reset link after %s = %d, want 400", when, resp.StatusCode)
		}

		a.client().post("/password/reset", url.Values{"email": {"ada@example.com"}})
		link := a.lastLink(t, "ada@example.com", "/password/reset/confirm")
		resp, _ := c.post("/settings/password", url.Values{"current_password": {goodPassword}, "new_password": {"a different passphrase"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		refused(link, "a password change")
		login(t, a.client(), "ada@example.com", "a different passphrase")

		a.client().post("/password/reset", url.Values{"email": {"ada@example.com"}})
		link = a.lastLink(t, "ada@example.com", "/password/reset/confirm")
		resp, _ = c.post("/settings/email", url.Values{"email": {"ada@new.example"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		resp, _ = c.post("/email/confirm", url.Values{"token": {a.lastLink(t, "ada@new.example", "/email/confirm")}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		refused(link, "an email change")

		admin := makeAdmin(t, a, "boss-r@example.com")
		a.client().post("/password/reset", url.Values{"email": {"ada@new.example"}})
		link = a.lastLink(t, "ada@new.example", "/password/reset/confirm")
		u, err := a.acct.Users.ByEmail(ctx, "ada@new.example")
		require.NoError(t, err)
		setActive(t, admin, u.ID, false)
		refused(link, "a deactivation")
	})
}

// Row 36: creating an API key needs a recent password entry, like an
// email or password change, and the user is told by email.
func TestAPIKeyCreationNeedsReauthenticationAndIsNotified(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		c := signUp(t, a, "builder@example.com", "Builder")
		u, _ := a.acct.Users.ByEmail(ctx, "builder@example.com")
		a.clock.Advance(11 * time.Minute)
		resp, _ := c.post("/settings/api-keys", url.Values{"name": {"build server"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/reauthenticate?next=%2Fsettings%2Fapi-keys")
		keys, err := apikeys.New(a.db, a.clock).List(ctx, u.ID)
		require.NoError(t, err)
		require.Empty(t, keys, "a session older than the reauthentication window created a key")

		resp, _ = c.post("/reauthenticate", url.Values{"password": {goodPassword}, "next": {"/settings/api-keys"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings/api-keys")
		resp, body := c.post("/settings/api-keys", url.Values{"name": {"build server"}})
		token := keyPattern.FindString(body)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "create key after reauthentication = %d, token %q", resp.StatusCode, token)
		require.NotEqual(t, "", token, "create key after reauthentication = %d, token %q", resp.StatusCode, token)

		msgs := a.mails(t, "builder@example.com")
		last := msgs[len(msgs)-1]
		require.Contains(t, last.Subject, "API key", "last email = %q, want the new-key notice", last.Subject)
		for _, want := range []string{"build server", token[:11], "https://example.com/settings/api-keys", a.clock.Now().UTC().Format("2 January 2006, 15:04 MST")} {
			assert.Contains(t, last.Text, want, "the new-key notice lacks %q:\n%s", want, last.Text)
		}
		assert.NotContains(t, last.Text, token, "the new-key notice holds the secret")

		_, body = c.get("/settings/api-keys")
		require.Contains(t, body, "never", "an unused key does not say it was never used")
		a.clock.Advance(2 * time.Minute)
		used := a.clock.Now().UTC()
		resp = a.call(t, "GET", "/api/v1/balance", token, "", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "the new key = %d", resp.StatusCode)
		_, body = c.get("/settings/api-keys")
		require.Contains(t, body, used.Format("2 Jan 2006, 15:04 MST"), "the key list does not show the last use")
	})
}

// Row 37: a password reset revokes the account's API keys unless the user
// chooses to keep them.
func TestPasswordResetRevokesAPIKeys(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		_, token := apiClientFor(t, a, "lost@example.com")
		reset := func(form url.Values) {
			t.Helper()
			c := a.client()
			c.post("/password/reset", url.Values{"email": {"lost@example.com"}})
			link := a.lastLink(t, "lost@example.com", "/password/reset/confirm")
			_, body := c.get("/password/reset/confirm?token=" + link)
			require.Regexp(t, `<input[^>]*name="keep_keys"`, body, "the reset form does not offer to keep the API keys")
			require.NotRegexp(t, `<input[^>]*name="keep_keys"[^>]*checked`, body, "keeping the API keys is ticked by default")
			form.Set("token", link)
			form.Set("password", "a fresh passphrase "+link[:6])
			resp, _ := c.post("/password/reset/confirm", form)
			wantRedirect(t, resp, http.StatusSeeOther, "/login")
		}

		reset(url.Values{"keep_keys": {"on"}})
		resp := a.call(t, "GET", "/api/v1/balance", token, "", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "a key the user chose to keep = %d, want 200", resp.StatusCode)

		reset(url.Values{})
		var e apiErr
		resp = a.call(t, "GET", "/api/v1/balance", token, "", "", &e)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "an API key after a password reset = %d %+v, want 401", resp.StatusCode, e)
	})
}

// Row 38: a session belongs to the password and address it was signed in
// with. An email change signs out the other sessions (the one that
// confirmed it stays), and a password set by any path, even one that
// forgets to end sessions, signs out all of them.
func TestSessionsDieWhenTheAccountChanges(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		laptop := signUp(t, a, "mary@example.com", "Mary")
		phone := a.client()
		login(t, phone, "mary@example.com", goodPassword)
		resp, _ := laptop.post("/settings/email", url.Values{"email": {"mary@new.example"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		resp, _ = laptop.post("/email/confirm", url.Values{"token": {a.lastLink(t, "mary@new.example", "/email/confirm")}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		require.True(t, signedInAs(t, laptop, "Mary"), "the session that confirmed the new address was signed out")
		require.False(t, signedInAs(t, phone, "Mary"), "another session survived the email change")
		_, body := laptop.get("/settings")
		require.Equal(t, 1, strings.Count(body, `class="session-agent"`), "the settings list a session that no longer works:\n%s", body)

		login(t, phone, "mary@new.example", goodPassword)
		hash, err := accounts.NewHasher(fastParams).Hash(ctx, "set by some other tool")
		require.NoError(t, err)
		_, err = a.db.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE email_normalized = ?", hash, "mary@new.example")
		require.NoError(t, err)
		require.False(t, signedInAs(t, laptop, "Mary"), "a session survived a password written without ending it")
		require.False(t, signedInAs(t, phone, "Mary"), "a session survived a password written without ending it")
	})
}

// A database error while reading the session's account answers as signed
// out but leaves the cookie and the session: the user is signed in again
// once the database answers.
func TestSessionKeptOnDatabaseError(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		c := signUp(t, a, "steady@example.com", "Steady")
		_, err := a.db.ExecContext(ctx, "ALTER TABLE users RENAME TO users_away")
		require.NoError(t, err)
		resp, _ := c.get("/dashboard")
		for _, ck := range resp.Cookies() {
			assert.False(t, ck.Name == "__Host-session" && ck.MaxAge < 0, "a failed read of the account cleared the session cookie")
		}
		_, err = a.db.ExecContext(ctx, "ALTER TABLE users_away RENAME TO users")
		require.NoError(t, err)
		require.True(t, signedInAs(t, c, "Steady"), "the session did not survive a failed read of its account")
	})
}

// Confirming an email change reports a failed lookup of the new address
// instead of going on as if the address were free.
func TestEmailConfirmReportsLookupErrors(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		c := signUp(t, a, "mover@example.com", "Mover")
		resp, _ := c.post("/settings/email", url.Values{"email": {"taken@example.com"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		link := a.lastLink(t, "taken@example.com", "/email/confirm")
		// Since the link was sent, the address was taken by an account
		// whose row cannot be read.
		signUp(t, a, "taken@example.com", "Taken")
		if a.db.Dialect() == database.SQLite {
			_, err := a.db.ExecContext(ctx, "UPDATE users SET created_at = 'not a time' WHERE email_normalized = 'taken@example.com'")
			require.NoError(t, err)
		} else {
			_, err := a.db.ExecContext(ctx, "ALTER TABLE users ALTER COLUMN name DROP NOT NULL")
			require.NoError(t, err)
			_, err = a.db.ExecContext(ctx, "UPDATE users SET name = NULL WHERE email_normalized = 'taken@example.com'")
			require.NoError(t, err)
		}
		resp, _ = c.post("/email/confirm", url.Values{"token": {link}})
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "confirm with a failed lookup = %d, want 500", resp.StatusCode)
		logs := a.logs.String()
		require.Contains(t, logs, "read account", "the failure logged is not the lookup's:\n%s", logs)
		require.NotContains(t, logs, "update account", "the change went on after the lookup failed:\n%s", logs)
	})
}
