package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
)

// Row 39: an admin deletes an account after typing its address; not their
// own. Sessions, keys and links go with it, the owner is told, and the
// audit log keeps who did it and the credit figures at deletion.
func TestAdminDeletesAccount(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		admin := makeAdmin(t, a, "boss-d@example.com")
		boss, _ := a.acct.Users.ByEmail(ctx, "boss-d@example.com")
		member := signUp(t, a, "gone@example.com", "Gone")
		m, _ := a.acct.Users.ByEmail(ctx, "gone@example.com")
		grant(t, a, m.ID, 7)
		_, body := member.post("/settings/api-keys", url.Values{"name": {"ci"}})
		token := keyPattern.FindString(body)
		require.NotEqual(t, "", token, "no key created:\n%s", body)
		a.client().post("/password/reset", url.Values{"email": {"gone@example.com"}})

		path := "/admin/users/" + m.ID + "/delete"
		_, body = admin.get("/admin/users/" + m.ID)
		require.Contains(t, body, `action="`+path+`"`, "the admin user page has no delete form")
		resp, body := admin.post(path, url.Values{"confirm": {"someone@else.example"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "delete with the wrong address typed = %d, want 422", resp.StatusCode)
		require.Contains(t, body, "gone@example.com", "the refusal does not say which address to type:\n%s", body)
		resp, _ = admin.post("/admin/users/"+boss.ID+"/delete", url.Values{"confirm": {"boss-d@example.com"}})
		require.Equal(t, http.StatusConflict, resp.StatusCode, "an admin deleting their own account = %d, want 409", resp.StatusCode)

		resp, _ = admin.post(path, url.Values{"confirm": {"GONE@example.com"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/admin/users")
		_, err := a.acct.Users.ByID(ctx, m.ID)
		require.ErrorIs(t, err, accounts.ErrNotFound, "the account still exists")
		for _, table := range []string{"sessions", "email_tokens", "api_keys", "credit_accounts", "credit_journal"} {
			var n int
			require.NoError(t, a.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE user_id = ?", m.ID).Scan(&n))
			assert.Equal(t, 0, n, "%s keeps %d rows of the deleted account", table, n)
		}
		require.False(t, signedInAs(t, member, "Gone"), "the deleted user is still signed in")
		resp = a.call(t, "GET", "/api/v1/balance", token, "", "", nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the deleted user's key = %d, want 401", resp.StatusCode)

		entries, err := a.acct.Audit.Recent(ctx, m.ID, 10)
		require.NoError(t, err)
		var deleted []string
		for _, e := range entries {
			if e.Action == "user.deleted" && e.ActorID == boss.ID {
				deleted = append(deleted, e.Detail)
			}
		}
		require.Len(t, deleted, 1, "audit log of the deleted account: %+v", entries)
		assert.Contains(t, deleted[0], "balance 7", "the audit entry does not keep the balance: %q", deleted[0])
		assert.Contains(t, deleted[0], "grant +7", "the audit entry does not keep the journal totals: %q", deleted[0])
		msgs := a.mails(t, "gone@example.com")
		assert.Contains(t, msgs[len(msgs)-1].Subject, "deleted", "the owner was not told")
		resp, _ = admin.get("/admin/users/" + m.ID)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "the deleted account's admin page = %d, want 404", resp.StatusCode)
	})
}

// Row 40: an account whose address is never confirmed is deleted after
// UnverifiedTTL, and its address can sign up again.
func TestUnverifiedAccountsExpire(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		runJobs := func() {
			t.Helper()
			require.NoError(t, a.jobs.Schedule(ctx))
			a.runDueJobs(t)
		}
		signup := url.Values{"email": {"late@example.com"}, "name": {"Late"}, "password": {goodPassword}}
		resp, _ := a.client().post("/signup", signup)
		wantRedirect(t, resp, http.StatusSeeOther, "/signup/done")
		signUp(t, a, "prompt@example.com", "Prompt")

		a.clock.Advance(accounts.UnverifiedTTL - time.Hour)
		runJobs()
		_, err := a.acct.Users.ByEmail(ctx, "late@example.com")
		require.NoError(t, err, "the unverified account expired early")
		a.clock.Advance(2 * time.Hour)
		runJobs()
		_, err = a.acct.Users.ByEmail(ctx, "late@example.com")
		require.ErrorIs(t, err, accounts.ErrNotFound, "the unverified account outlived its time")
		_, err = a.acct.Users.ByEmail(ctx, "prompt@example.com")
		require.NoError(t, err, "a verified account expired")

		resp, _ = a.client().post("/signup", signup)
		wantRedirect(t, resp, http.StatusSeeOther, "/signup/done")
		msgs := a.mails(t, "late@example.com")
		require.Contains(t, msgs[len(msgs)-1].Subject, "Confirm your email", "the released address got %q, want a new verification", msgs[len(msgs)-1].Subject)
	})
}
