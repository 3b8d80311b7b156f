package web

import (
	"context"
	"crypto/rand"
	"fmt"
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

// Row 44: an address that Unicode case folding would turn into someone
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

// Row 44: the keys of accounts made before the ASCII rule were built by
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

// Row 46: a reset request, and a request for a new confirmation link, take
// the same time for an address with an account (an unverified one, for the
// link) as for one without. Requests for the two addresses run in pairs,
// back to back in alternating order, so a change of load on the machine
// hits both sides of a pair, and the median of the paired differences
// ignores outliers; it must stay under a fifth of a typical request, or
// half a millisecond, whichever is more. Under the race detector, whose
// overhead swamps the difference, fewer pairs run and the times are only
// logged; that each request queued exactly one job, for either address,
// is checked either way.
func TestResetAndResendTimingDoNotRevealAccounts(t *testing.T) {
	forDialectsInTurn(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		_, err := a.acct.Users.EnsureUser(ctx, "known1@example.com", "Known", goodPassword, "test")
		require.NoError(t, err)
		require.NoError(t, a.acct.Users.SignUp(ctx, "known2@example.com", "Unverified", goodPassword, "192.0.2.9"))
		rounds := 150
		if raceEnabled {
			rounds = 20
		}
		for _, tc := range []struct {
			path, known, missing string
			status               int
		}{
			{"/password/reset", "known1@example.com", "ghost1@example.com", http.StatusOK},
			{"/verify/resend", "known2@example.com", "ghost2@example.com", http.StatusSeeOther},
		} {
			jobsBefore := tableCounts(t, a.db)["jobs"]
			var diffs, all []time.Duration
			measure := func(round int, email string) time.Duration {
				c := a.client()
				c.ip = fmt.Sprintf("10.2.%d.%d", round/250, round%250)
				start := time.Now()
				resp, body := c.post(tc.path, url.Values{"email": {email}})
				d := time.Since(start)
				require.Equal(t, tc.status, resp.StatusCode, "%s for %s = %d:\n%s", tc.path, email, resp.StatusCode, body)
				return d
			}
			for round := range rounds {
				var k, m time.Duration
				if round%2 == 0 {
					k, m = measure(round, tc.known), measure(round, tc.missing)
				} else {
					m, k = measure(round, tc.missing), measure(round, tc.known)
				}
				diffs, all = append(diffs, k-m), append(all, k, m)
				// Past the per-address limits, which are the same for both.
				a.clock.Advance(accounts.ResendPerAddress.Window + time.Second)
			}
			diff, typical := median(diffs), median(all)
			limit := max(500*time.Microsecond, typical/5)
			t.Logf("%s: %d pairs, typical request %s, median difference with and without an account %s (limit %s)", tc.path, rounds, typical, diff, limit)
			if !raceEnabled {
				assert.Less(t, diff.Abs(), limit, "%s: the median difference between an address with an account and one without", tc.path)
			}
			queued := tableCounts(t, a.db)["jobs"] - jobsBefore
			assert.Equal(t, 2*rounds, queued, "%s: %d requests queued %d jobs, want one each", tc.path, 2*rounds, queued)
		}
	})
}

// Row 45: a reset or resend request only queues a job holding the address:
// no link is made and no mail written in the request, for an address with
// an account or without. The job makes the link and writes the mail for
// an account that should get one (an active account for a reset, an
// unverified one for a new confirmation link), nothing otherwise, and its
// payload is blank once it has run.
func TestLinkJobsSendThenForgetTheAddress(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		signUp(t, a, "verified@example.com", "Verified")
		require.NoError(t, a.acct.Users.SignUp(ctx, "pending@example.com", "Pending", goodPassword, "192.0.2.9"))
		mailed := map[string]int{}
		for _, email := range []string{"verified@example.com", "pending@example.com"} {
			mailed[email] = len(a.mails(t, email))
		}
		before := tableCounts(t, a.db)
		requests := []struct{ path, email string }{
			{"/password/reset", "verified@example.com"},
			{"/password/reset", "missing@example.com"},
			{"/verify/resend", "pending@example.com"},
			{"/verify/resend", "verified@example.com"},
			{"/verify/resend", "absent@example.com"},
		}
		var addresses []string
		for _, r := range requests {
			resp, body := a.client().post(r.path, url.Values{"email": {r.email}})
			require.Less(t, resp.StatusCode, 400, "%s for %s = %d:\n%s", r.path, r.email, resp.StatusCode, body)
			addresses = append(addresses, r.email)
		}
		after := tableCounts(t, a.db)
		assert.Equal(t, before["jobs"]+len(requests), after["jobs"], "jobs queued by %d requests", len(requests))
		assert.Equal(t, before["email_tokens"], after["email_tokens"], "a request made a link itself")
		assert.Equal(t, before["outbox"], after["outbox"], "a request wrote a mail itself")
		assert.Equal(t, addresses, jobPayloads(t, a, "done_at IS NULL"), "the payloads of the queued jobs")

		a.runDueJobs(t)
		assert.Empty(t, jobPayloads(t, a, "done_at IS NULL"), "jobs left undone")
		assert.Empty(t, jobPayloads(t, a, "payload <> ''"), "a job kept its address after it ran")
		for _, email := range []string{"missing@example.com", "absent@example.com"} {
			assert.Empty(t, a.mails(t, email), "an address without an account got mail")
		}
		for email, link := range map[string]string{"verified@example.com": "/password/reset/confirm", "pending@example.com": "/verify"} {
			got := len(a.mails(t, email)) - mailed[email]
			assert.Equal(t, 1, got, "%s got %d new mails, want the one with its %s link", email, got, link)
			resp, _ := a.client().get(link + "?token=" + a.lastLink(t, email, link))
			assert.Equal(t, http.StatusOK, resp.StatusCode, "the %s link the job mailed to %s = %d, want its page", link, email, resp.StatusCode)
		}
	})
}

// jobPayloads returns the payloads of the jobs matching where, in the
// order they were queued.
func jobPayloads(t testing.TB, a *app, where string) []string {
	t.Helper()
	rows, err := a.db.QueryContext(context.Background(), "SELECT payload FROM jobs WHERE "+where+" ORDER BY seq")
	require.NoError(t, err)
	defer rows.Close()
	var payloads []string
	for rows.Next() {
		var p string
		require.NoError(t, rows.Scan(&p))
		payloads = append(payloads, p)
	}
	require.NoError(t, rows.Err())
	return payloads
}
