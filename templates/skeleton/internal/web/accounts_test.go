package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/sessions"
)

// fastParams keep tests quick; TestStoredHashUsesCurrentParameters and
// the timing test use the real ones.
var fastParams = accounts.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// testAccounts wires the accounts parts over db, all on clk, with their
// jobs on q.
func testAccounts(t testing.TB, db *database.DB, q *jobs.Queue, logger *slog.Logger, baseURL string, clk *clock.Fake) Accounts {
	t.Helper()
	composer, err := mail.NewComposer(testAppName, baseURL)
	require.NoError(t, err)
	outbox := mail.NewOutbox(db, clk)
	users := accounts.New(accounts.Options{DB: db, Hasher: accounts.NewHasher(fastParams), Outbox: outbox, Composer: composer,
		Limiter: ratelimit.New(db, clk), Logger: logger, BaseURL: baseURL, Clock: clk, Keep: credits.New(db, clk).Statement})
	users.RegisterJobs(q)
	return Accounts{Users: users, Sessions: sessions.New(db, sessions.DefaultTimeouts, clk), Audit: audit.NewLog(db), Outbox: outbox,
		Messages: contact.NewStore(db, clk)}
}

func httpsApp(t testing.TB, dialect database.Dialect) *app {
	return newApp(t, dialect, options{migrated: true, baseURL: "https://example.com", stripe: billingtest.New()})
}

// client is one browser: it keeps the cookies the app sets.
type client struct {
	app     *app
	cookies map[string]*http.Cookie
	ip      string
}

func (a *app) client() *client {
	return &client{app: a, cookies: map[string]*http.Cookie{}, ip: "192.0.2.1"}
}

func (c *client) do(r *http.Request) (*http.Response, string) {
	for _, ck := range c.cookies {
		r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	r.RemoteAddr = c.ip + ":41000"
	resp, body := c.app.do(r)
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	return resp, body
}

func (c *client) get(path string) (*http.Response, string) { return c.do(get(path)) }

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	return c.do(post(path, form))
}

func (c *client) session() string {
	for name, ck := range c.cookies {
		if strings.HasSuffix(name, "session") {
			return ck.Value
		}
	}
	return ""
}

const goodPassword = "correct horse battery staple 42"

type sentMail struct {
	To, Subject, Text string
}

// runDueJobs runs the job queue's due jobs, as the background worker
// would, until none is left.
func (a *app) runDueJobs(t testing.TB) {
	t.Helper()
	for {
		ran, err := a.jobs.RunOnce(context.Background())
		require.NoError(t, err)
		if !ran {
			return
		}
	}
}

// mails returns the outbox's messages to addr, oldest first, once the due
// jobs, which write some of them, have run.
func (a *app) mails(t testing.TB, addr string) []sentMail {
	t.Helper()
	a.runDueJobs(t)
	rows, err := a.db.QueryContext(context.Background(),
		"SELECT to_addr, subject, text_body FROM outbox WHERE to_addr = ? ORDER BY id", addr)
	require.NoError(t, err)
	defer rows.Close()
	var out []sentMail
	for rows.Next() {
		var m sentMail
		require.NoError(t, rows.Scan(&m.To, &m.Subject, &m.Text))
		out = append(out, m)
	}
	return out
}

var linkPattern = regexp.MustCompile(`https?://example\.com(/[a-z/]+)\?token=([A-Za-z0-9_-]+)`)

// lastLink returns the path and token of the newest link mailed to addr
// under path.
func (a *app) lastLink(t testing.TB, addr, path string) string {
	t.Helper()
	msgs := a.mails(t, addr)
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, m := range linkPattern.FindAllStringSubmatch(msgs[i].Text, -1) {
			if m[1] == path {
				return m[2]
			}
		}
	}
	require.FailNowf(t, "no link", "no %s link mailed to %s among %d messages", path, addr, len(msgs))
	return ""
}

// signUp creates and verifies an account and returns a signed-in client.
func signUp(t testing.TB, a *app, email, name string) *client {
	t.Helper()
	c := a.client()
	resp, body := c.post("/signup", url.Values{"email": {email}, "name": {name}, "password": {goodPassword}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "sign up %s = %d:\n%s", email, resp.StatusCode, body)
	token := a.lastLink(t, email, "/verify")
	resp, _ = c.post("/verify", url.Values{"token": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "verify %s = %d", email, resp.StatusCode)
	login(t, c, email, goodPassword)
	return c
}

func login(t testing.TB, c *client, email, password string) {
	t.Helper()
	resp, body := c.post("/login", url.Values{"email": {email}, "password": {password}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "login %s = %d, session %q:\n%s", email, resp.StatusCode, c.session(), body)
	require.NotEqual(t, "", c.session(), "login %s = %d, session %q:\n%s", email, resp.StatusCode, c.session(), body)
}

// makeAdmin creates a verified admin and returns a signed-in client.
func makeAdmin(t testing.TB, a *app, email string) *client {
	t.Helper()
	_, err := a.acct.Users.EnsureAdmin(context.Background(), email, "Admin", goodPassword, "test")
	require.NoError(t, err)
	c := a.client()
	login(t, c, email, goodPassword)
	return c
}

func wantRedirect(t testing.TB, resp *http.Response, status int, prefix string) {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "response = %d to %q, want %d to %s...", resp.StatusCode, resp.Header.Get("Location"), status, prefix)
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), prefix), "response = %d to %q, want %d to %s...", resp.StatusCode, resp.Header.Get("Location"), status, prefix)
}

func signedInAs(t testing.TB, c *client, name string) bool {
	t.Helper()
	resp, body := c.get("/dashboard")
	if resp.StatusCode == http.StatusOK && strings.Contains(body, name) {
		return true
	}
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "GET /dashboard = %d to %q: neither the dashboard nor the login page", resp.StatusCode, resp.Header.Get("Location"))
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login"), "GET /dashboard = %d to %q: neither the dashboard nor the login page", resp.StatusCode, resp.Header.Get("Location"))
	return false
}

// forDialects runs test on SQLite and PostgreSQL, in parallel.
func forDialects(t *testing.T, test func(t *testing.T, a *app)) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			test(t, httpsApp(t, dialect))
		})
	}
}

// forCheckouts runs test as forDialects does, and again with the fake
// checkout (STRIPE_FAKE=true) in place of Stripe: its routes are served
// only then, and every walk of the routes must reach them too.
func forCheckouts(t *testing.T, test func(t *testing.T, a *app)) {
	for _, opts := range checkoutOptions("https://example.com") {
		for _, dialect := range dbtest.Dialects {
			t.Run(checkoutName(dialect, opts), func(t *testing.T) {
				t.Parallel()
				test(t, newApp(t, dialect, opts))
			})
		}
	}
}

// checkoutOptions are the applications at baseURL that take payments:
// through a Stripe the test controls, and through the fake checkout.
func checkoutOptions(baseURL string) []options {
	return []options{{migrated: true, baseURL: baseURL, stripe: billingtest.New()}, {migrated: true, baseURL: baseURL, fake: true}}
}

func checkoutName(dialect database.Dialect, opts options) string {
	if opts.fake {
		return string(dialect) + "-fake-checkout"
	}
	return string(dialect)
}

// forDialectsInTurn runs test on SQLite, then on PostgreSQL, for tests
// that measure time and must not share the CPUs.
func forDialectsInTurn(t *testing.T, test func(t *testing.T, a *app)) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) { test(t, httpsApp(t, dialect)) })
	}
}

// Rows 9, 11 and 13 of SECURITY.md: the whole way from sign-up
// to logout, with production cookies.
func TestSignUpVerifyLoginLogout(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		c := a.client()
		resp, _ := c.get("/signup")
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET /signup = %d", resp.StatusCode)
		resp, _ = c.post("/signup", url.Values{"email": {"Ada@Example.com"}, "name": {"Ada"}, "password": {goodPassword}})
		wantRedirect(t, resp, http.StatusSeeOther, "/signup/done")
		_, body := c.get("/signup/done")
		assert.Contains(t, body, "Check your inbox", "sign-up did not end on the check-your-inbox page")
		msgs := a.mails(t, "Ada@Example.com")
		require.Len(t, msgs, 1, "outbox = %+v, want one verification email", msgs)
		require.Contains(t, msgs[0].Subject, "Confirm your email", "outbox = %+v, want one verification email", msgs)

		// Unverified: the right password gives no session.
		resp, _ = c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "login before verification = %d with session %q, want 403 and none", resp.StatusCode, c.session())
		require.Equal(t, "", c.session(), "login before verification = %d with session %q, want 403 and none", resp.StatusCode, c.session())
		resp, _ = c.get("/dashboard")
		wantRedirect(t, resp, http.StatusSeeOther, "/login?next=%2Fdashboard")

		token := a.lastLink(t, "Ada@Example.com", "/verify")
		require.GreaterOrEqual(t, len(token), 22, "token %q is shorter than 128 bits (22 base64url characters)", token)
		// Opening the link changes nothing; the POST confirms.
		resp, body = c.get("/verify?token=" + token)
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET verify link = %d", resp.StatusCode)
		require.Contains(t, body, "Confirm my address", "GET verify link = %d", resp.StatusCode)
		resp, _ = c.post("/verify", url.Values{"token": {token}})
		wantRedirect(t, resp, http.StatusSeeOther, "/login")
		resp, _ = c.post("/verify", url.Values{"token": {token}})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "second use of the verification link = %d, want 400", resp.StatusCode)
		msgs = a.mails(t, "Ada@Example.com")
		assert.Contains(t, msgs[len(msgs)-1].Subject, "Welcome", "no welcome email after verification")

		resp, _ = c.post("/login", url.Values{"email": {"ADA@example.com"}, "password": {goodPassword}, "next": {"/settings"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		var sessionCookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "__Host-session" {
				sessionCookie = ck
			}
		}
		require.NotNil(t, sessionCookie, "no __Host-session cookie")
		assert.True(t, sessionCookie.Secure, "session cookie not Secure")
		assert.True(t, sessionCookie.HttpOnly, "session cookie not HttpOnly")
		assert.Equal(t, http.SameSiteLaxMode, sessionCookie.SameSite, "session cookie SameSite")
		assert.Equal(t, "/", sessionCookie.Path, "session cookie Path")
		assert.Empty(t, sessionCookie.Domain, "session cookie Domain")
		assert.GreaterOrEqual(t, len(sessionCookie.Value), 43, "session cookie value shorter than 256 bits")
		resp, body = c.get("/dashboard")
		require.Equal(t, http.StatusOK, resp.StatusCode, "dashboard = %d, want the user's dashboard with a logout form", resp.StatusCode)
		require.Contains(t, body, "Hello, Ada", "dashboard = %d, want the user's dashboard with a logout form", resp.StatusCode)
		require.Contains(t, body, `action="/logout"`, "dashboard = %d, want the user's dashboard with a logout form", resp.StatusCode)
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "signed-in page Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
		resp, body = c.get("/settings")
		require.Equal(t, http.StatusOK, resp.StatusCode, "settings = %d, want the sessions list", resp.StatusCode)
		require.Contains(t, body, "this session", "settings = %d, want the sessions list", resp.StatusCode)

		old := c.session()
		resp, _ = c.post("/logout", nil)
		wantRedirect(t, resp, http.StatusSeeOther, "/")
		require.Equal(t, "", c.session(), "logout left the session cookie")
		replay := a.client()
		replay.cookies["__Host-session"] = &http.Cookie{Name: "__Host-session", Value: old}
		require.False(t, signedInAs(t, replay, "Ada"), "the session cookie still works after logout")
	})
}

// Row 10: the token changes at login and reauthentication; the token from
// before is anonymous afterwards.
func TestNewSessionTokenOnLoginAndReauth(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		c := signUp(t, a, "grace@example.com", "Grace")
		before := c.session()
		login(t, c, "grace@example.com", goodPassword) // again, already signed in
		require.NotEqual(t, before, c.session(), "login kept the session token")
		stale := a.client()
		stale.cookies["__Host-session"] = &http.Cookie{Name: "__Host-session", Value: before}
		require.False(t, signedInAs(t, stale, "Grace"), "the token from before login still signs in")

		// A token planted by an attacker before login is not adopted.
		planted := a.client()
		planted.cookies["__Host-session"] = &http.Cookie{Name: "__Host-session", Value: "attacker-chosen-value"}
		login(t, planted, "grace@example.com", goodPassword)
		require.NotEqual(t, "attacker-chosen-value", planted.session(), "login adopted a planted session token")

		before = c.session()
		resp, _ := c.post("/reauthenticate", url.Values{"password": {goodPassword}, "next": {"/settings"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		require.NotEqual(t, before, c.session(), "reauthentication kept the session token")
		stale.cookies["__Host-session"] = &http.Cookie{Name: "__Host-session", Value: before}
		require.False(t, signedInAs(t, stale, "Grace"), "the token from before reauthentication still signs in")
	})
}

// Row 12: idle and absolute timeouts.
func TestSessionTimeouts(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		c := signUp(t, a, "idle@example.com", "Idle")
		a.clock.Advance(sessions.DefaultTimeouts.Idle - time.Minute)
		require.True(t, signedInAs(t, c, "Idle"), "session ended before the idle timeout")
		a.clock.Advance(sessions.DefaultTimeouts.Idle + time.Second)
		require.False(t, signedInAs(t, c, "Idle"), "session survived the idle timeout")

		c = a.client()
		login(t, c, "idle@example.com", goodPassword)
		for elapsed := time.Duration(0); elapsed < sessions.DefaultTimeouts.Absolute-6*time.Hour; elapsed += 6 * time.Hour {
			a.clock.Advance(6 * time.Hour)
			require.True(t, signedInAs(t, c, "Idle"), "active session ended after %s, before the absolute timeout", elapsed+6*time.Hour)
		}
		a.clock.Advance(7 * time.Hour)
		require.False(t, signedInAs(t, c, "Idle"), "session survived the absolute timeout")
	})
}

// Rows 3, 7, 14 and 15: changing the password needs a recent password
// entry and the current password; it ends the other sessions and tells
// the user.
func TestPasswordChange(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		phone := signUp(t, a, "alan@example.com", "Alan")
		laptop := a.client()
		login(t, laptop, "alan@example.com", goodPassword)
		u, _ := a.acct.Users.ByEmail(ctx, "alan@example.com")

		// Older than the reauthentication window: sent to reauthenticate.
		a.clock.Advance(11 * time.Minute)
		resp, _ := laptop.post("/settings/password", url.Values{"current_password": {goodPassword}, "new_password": {"a much better passphrase"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/reauthenticate")
		resp, _ = laptop.post("/reauthenticate", url.Values{"password": {"wrong password here"}})
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "reauthentication with a wrong password = %d, want 401", resp.StatusCode)
		resp, _ = laptop.post("/reauthenticate", url.Values{"password": {goodPassword}, "next": {"/settings"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")

		resp, body := laptop.post("/settings/password", url.Values{"current_password": {"not the password"}, "new_password": {"a much better passphrase"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "change with a wrong current password = %d", resp.StatusCode)
		require.Contains(t, body, "not your current password", "change with a wrong current password = %d", resp.StatusCode)
		after, _ := a.acct.Users.ByEmail(ctx, "alan@example.com")
		require.Equal(t, u.PasswordHash, after.PasswordHash, "a wrong current password changed the stored hash")

		before := laptop.session()
		resp, _ = laptop.post("/settings/password", url.Values{"current_password": {goodPassword}, "new_password": {"a much better passphrase"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		require.NotEqual(t, before, laptop.session(), "the changing session was not kept with a new token")
		require.True(t, signedInAs(t, laptop, "Alan"), "the changing session was not kept with a new token")
		require.False(t, signedInAs(t, phone, "Alan"), "the other session survived the password change")
		msgs := a.mails(t, "alan@example.com")
		last := msgs[len(msgs)-1]
		require.Contains(t, last.Subject, "password was changed", "last email = %q, want the password-changed notice", last.Subject)
		login(t, a.client(), "alan@example.com", "a much better passphrase")
	})
}

// Rows 6 and 14: reset links are single use, expire, and only the newest
// works; a reset ends every session.
func TestPasswordReset(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		signedIn := signUp(t, a, "hedy@example.com", "Hedy")
		c := a.client()
		c.post("/password/reset", url.Values{"email": {"hedy@example.com"}})
		first := a.lastLink(t, "hedy@example.com", "/password/reset/confirm")
		a.clock.Advance(2 * time.Minute)
		c.post("/password/reset", url.Values{"email": {"HEDY@example.com"}})
		second := a.lastLink(t, "hedy@example.com", "/password/reset/confirm")
		require.NotEqual(t, second, first, "two reset requests mailed the same link")
		resp, _ := c.get("/password/reset/confirm?token=" + first)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "older reset link = %d, want 400 once a newer one exists", resp.StatusCode)
		resp, _ = c.post("/password/reset/confirm", url.Values{"token": {first}, "password": {"brand new passphrase"}})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "using the older reset link = %d, want 400", resp.StatusCode)

		// The link is stored hashed: the database never holds it.
		var n int
		err := a.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM email_tokens WHERE token_hash = ? OR token_hash = ?", first, second).Scan(&n)
		require.NoError(t, err, "a token is stored as itself (%d rows, %v)", n, err)
		require.Equal(t, 0, n, "a token is stored as itself (%d rows, %v)", n, err)

		resp, body := c.post("/password/reset/confirm", url.Values{"token": {second}, "password": {"password1234"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "reset to a common password = %d", resp.StatusCode)
		require.Contains(t, body, "too common", "reset to a common password = %d", resp.StatusCode)
		resp, _ = c.post("/password/reset/confirm", url.Values{"token": {second}, "password": {"brand new passphrase"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/login")
		resp, _ = c.post("/password/reset/confirm", url.Values{"token": {second}, "password": {"another new passphrase"}})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "second use of the reset link = %d, want 400", resp.StatusCode)
		require.False(t, signedInAs(t, signedIn, "Hedy"), "a session survived the password reset")
		msgs := a.mails(t, "hedy@example.com")
		last := msgs[len(msgs)-1]
		require.Contains(t, last.Subject, "password was changed", "last email = %q, want the password-changed notice", last.Subject)
		login(t, a.client(), "hedy@example.com", "brand new passphrase")

		// Expiry: a link used after its hour fails.
		c.post("/password/reset", url.Values{"email": {"hedy@example.com"}})
		late := a.lastLink(t, "hedy@example.com", "/password/reset/confirm")
		a.clock.Advance(accounts.ResetTokenTTL + time.Second)
		resp, _ = c.post("/password/reset/confirm", url.Values{"token": {late}, "password": {"too late passphrase"}})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "expired reset link = %d, want 400", resp.StatusCode)
	})
}

// Rows 7 and 15: an email change waits for the new address, and tells
// the old one.
func TestEmailChange(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		c := signUp(t, a, "old@example.com", "Barbara")
		resp, _ := c.post("/settings/email", url.Values{"email": {"new@example.com"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		u, _ := a.acct.Users.ByEmail(ctx, "old@example.com")
		require.NotEqual(t, "", u.ID, "the address changed before the new one was confirmed")
		notice := a.mails(t, "old@example.com")
		last := notice[len(notice)-1]
		require.Contains(t, last.Subject, "is changing", "old address got %q, want the change notice", last.Subject)
		require.Contains(t, last.Text, "new@example.com", "old address got %q, want the change notice", last.Subject)
		token := a.lastLink(t, "new@example.com", "/email/confirm")
		resp, _ = c.post("/email/confirm", url.Values{"token": {token}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		u, err := a.acct.Users.ByEmail(ctx, "new@example.com")
		require.NoError(t, err, "after confirmation: %+v, %v", u, err)
		require.True(t, u.Verified(), "after confirmation: %+v, %v", u, err)
		_, err = a.acct.Users.ByEmail(ctx, "old@example.com")
		require.Error(t, err, "the old address still names the account")
		notice = a.mails(t, "old@example.com")
		last = notice[len(notice)-1]
		require.Contains(t, last.Subject, "was changed", "old address got %q, want the changed notice", last.Subject)

		a.clock.Advance(11 * time.Minute)
		resp, _ = c.post("/settings/email", url.Values{"email": {"third@example.com"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/reauthenticate")
		require.Empty(t, a.mails(t, "third@example.com"), "an email change went through without reauthentication")
	})
}

// Row 1: length, Unicode, no truncation.
func TestPasswordRules(t *testing.T) {
	a := httpsApp(t, database.SQLite)
	cases := []struct {
		password string
		ok       bool
	}{
		{strings.Repeat("ab", 5) + "c", false},                     // 11
		{"twelve chars", true},                                     // 12
		{strings.Repeat("é", 11), false},                           // 11 code points, 22 bytes
		{"пароль-для-входа", true},                                 // Cyrillic
		{"🔑🔑🔑🔑 keys 🔑🔑🔑🔑", true},                                   // emoji
		{strings.Repeat("long words ", 12)[:128], true},            // 128
		{strings.Repeat("x", 60) + strings.Repeat("y", 69), false}, // 129
	}
	for i, tc := range cases {
		email := fmt.Sprintf("rules%d@example.com", i)
		resp, _ := a.client().post("/signup", url.Values{"email": {email}, "name": {"R"}, "password": {tc.password}})
		got := resp.StatusCode == http.StatusSeeOther
		assert.Equal(t, tc.ok, got, "password of %d code points: accepted = %v, want %v", len([]rune(tc.password)), got, tc.ok)
	}

	long := strings.Repeat("abcdefgh", 16) // 128: nothing may be cut off
	c := a.client()
	c.post("/signup", url.Values{"email": {"long@example.com"}, "name": {"L"}, "password": {long}})
	c.post("/verify", url.Values{"token": {a.lastLink(t, "long@example.com", "/verify")}})
	resp, _ := c.post("/login", url.Values{"email": {"long@example.com"}, "password": {long + "x"}})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "password plus one character = %d, want 401", resp.StatusCode)
	resp, _ = c.post("/login", url.Values{"email": {"long@example.com"}, "password": {long[:127]}})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "password minus one character = %d, want 401", resp.StatusCode)
	login(t, c, "long@example.com", long)

	// Composed and decomposed accents are one password.
	composed, decomposed := "café crème brûlée", "cafe\u0301 cre\u0300me bru\u0302le\u0301e"
	c = a.client()
	c.post("/signup", url.Values{"email": {"nfc@example.com"}, "name": {"N"}, "password": {composed}})
	c.post("/verify", url.Values{"token": {a.lastLink(t, "nfc@example.com", "/verify")}})
	login(t, c, "nfc@example.com", decomposed)
}

// Row 2: common passwords are refused at sign-up, change and reset.
func TestCommonPasswordsRefused(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		resp, body := a.client().post("/signup", url.Values{"email": {"weak@example.com"}, "name": {"W"}, "password": {"Password1234"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "sign-up with Password1234 = %d", resp.StatusCode)
		require.Contains(t, body, "too common", "sign-up with Password1234 = %d", resp.StatusCode)
		c := signUp(t, a, "strong@example.com", "S")
		resp, body = c.post("/settings/password", url.Values{"current_password": {goodPassword}, "new_password": {"qwertyuiop123"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "change to qwertyuiop123 = %d", resp.StatusCode)
		require.Contains(t, body, "too common", "change to qwertyuiop123 = %d", resp.StatusCode)
		v := asHTMX(post("/accounts/validate", url.Values{"new_password": {"iloveyou1234"}}))
		v.Header.Set("HX-Trigger-Name", "new_password")
		_, body = c.do(v)
		assert.Contains(t, body, "too common", "inline validation answered %q, want only the line that flags a common password", body)
		assert.NotContains(t, body, "<input", "inline validation answered %q, want only the line that flags a common password", body)
		// Reset is covered in TestPasswordReset.
	})
}

// Row 4: failed logins are limited per account across addresses and per
// address across accounts; while limited, even the right password fails.
func TestLoginRateLimits(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		signUp(t, a, "target@example.com", "Target")
		signUp(t, a, "bystander@example.com", "Bystander")
		for i := range accounts.LoginFailuresPerAccount.Limit {
			c := a.client()
			c.ip = fmt.Sprintf("198.51.100.%d", i+1)
			resp, _ := c.post("/login", url.Values{"email": {"target@example.com"}, "password": {"wrong password " + strconv.Itoa(i)}})
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "failure %d = %d, want 401", i+1, resp.StatusCode)
		}
		c := a.client()
		c.ip = "203.0.113.9"
		resp, _ := c.post("/login", url.Values{"email": {"target@example.com"}, "password": {goodPassword}})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "right password while the account is limited = %d, want 429 and no session", resp.StatusCode)
		require.Equal(t, "", c.session(), "right password while the account is limited = %d, want 429 and no session", resp.StatusCode)
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		require.NoError(t, err, "Retry-After = %q, want 1..300 seconds", resp.Header.Get("Retry-After"))
		require.GreaterOrEqual(t, ra, 1, "Retry-After = %q, want 1..300 seconds", resp.Header.Get("Retry-After"))
		require.LessOrEqual(t, ra, 300, "Retry-After = %q, want 1..300 seconds", resp.Header.Get("Retry-After"))
		login(t, c, "bystander@example.com", goodPassword)
		a.clock.Advance(accounts.LoginFailuresPerAccount.Window + time.Second)
		login(t, a.client(), "target@example.com", goodPassword)

		// Per address: ten failures on ten accounts, then even a good login
		// from that address waits.
		attacker := a.client()
		attacker.ip = "192.0.2.66"
		for i := range accounts.LoginFailuresPerIP.Limit {
			attacker.post("/login", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"whatever password"}})
		}
		resp, _ = attacker.post("/login", url.Values{"email": {"bystander@example.com"}, "password": {goodPassword}})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "login from a limited address = %d, want 429", resp.StatusCode)
	})
}

// Row 31: the 21st sign-up in a minute from one address is refused.
func TestSignupRateLimit(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		c := a.client()
		for i := range accounts.SignupPerIP.Limit {
			resp, _ := c.post("/signup", url.Values{"email": {fmt.Sprintf("bulk%d@example.com", i)}, "name": {"B"}, "password": {goodPassword}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "sign-up %d = %d", i+1, resp.StatusCode)
		}
		resp, _ := c.post("/signup", url.Values{"email": {"bulk21@example.com"}, "name": {"B"}, "password": {goodPassword}})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "21st sign-up = %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
		require.NotEqual(t, "", resp.Header.Get("Retry-After"), "21st sign-up = %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
		require.Empty(t, a.mails(t, "bulk21@example.com"), "the refused sign-up sent email")
		// Resend: one per three minutes per address.
		c.ip = "192.0.2.77"
		resp, _ = c.post("/verify/resend", url.Values{"email": {"bulk1@example.com"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "first resend = %d", resp.StatusCode)
		resp, _ = c.post("/verify/resend", url.Values{"email": {"bulk1@example.com"}})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "second resend within 3 minutes = %d, want 429", resp.StatusCode)
		// Reset: five per minute per address.
		for i := range accounts.ResetPerAddress.Limit {
			c.ip = fmt.Sprintf("192.0.2.%d", 100+i)
			c.post("/password/reset", url.Values{"email": {"bulk2@example.com"}})
		}
		resp, _ = c.post("/password/reset", url.Values{"email": {"bulk2@example.com"}})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "sixth reset request for one address = %d, want 429", resp.StatusCode)
	})
}

// normalise removes what legitimately differs between two answers: the
// address typed in.
func normalise(body, email string) string { return strings.ReplaceAll(body, email, "EMAIL") }

// Row 5: sign-up, login and reset answer alike for known and unknown
// addresses.
func TestNoEnumeration(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		signUp(t, a, "known@example.com", "Known")
		for i, tc := range []struct {
			path string
			form func(email string) url.Values
		}{
			{"/signup", func(e string) url.Values {
				return url.Values{"email": {e}, "name": {"X"}, "password": {goodPassword}}
			}},
			{"/login", func(e string) url.Values { return url.Values{"email": {e}, "password": {"not the password"}} }},
			{"/password/reset", func(e string) url.Values { return url.Values{"email": {e}} }},
		} {
			known, unknown := "known@example.com", fmt.Sprintf("nobody%d@example.com", i)
			r1, b1 := a.client().post(tc.path, tc.form(known))
			r2, b2 := a.client().post(tc.path, tc.form(unknown))
			assert.Equal(t, r1.StatusCode, r2.StatusCode, "%s: status for a known and an unknown address differ", tc.path)
			assert.Equal(t, r1.Header.Get("Location"), r2.Header.Get("Location"), "%s: redirect for a known and an unknown address differ", tc.path)
			assert.Equal(t, normalise(b1, known), normalise(b2, unknown), "%s: page for a known and an unknown address differ", tc.path)
		}
		// The owner of a known address learns of the attempt; nobody else
		// gets anything.
		msgs := a.mails(t, "known@example.com")
		assert.Contains(t, msgs[len(msgs)-1].Subject+msgs[len(msgs)-2].Subject, "tried to sign up", "the owner was not told of the sign-up attempt")
		for _, unknown := range []string{"nobody1@example.com", "nobody2@example.com"} {
			n := len(a.mails(t, unknown))
			assert.Equal(t, 0, n, "unknown address %s got %d emails from login or reset", unknown, n)
		}
	})
}

// Row 5, timing: with the real hash parameters, a failed login for an
// unknown address computes exactly one hash, like one for a known address,
// and the two take the same time. Pairs of tries run back to back in
// alternating order, so a change of load on the machine hits both sides of
// a pair, and the median of the differences ignores outliers. Under the
// race detector, whose slowdown of argon2 makes wall time meaningless, the
// equal work is checked and the times only logged.
func TestLoginTimingDoesNotRevealAccounts(t *testing.T) {
	forDialectsInTurn(t, func(t *testing.T, a *app) {
		hasher := accounts.NewHasher(accounts.DefaultParams)
		a.acct.Users.SetHasher(hasher)
		_, err := a.acct.Users.EnsureUser(context.Background(), "timed@example.com", "T", goodPassword, "test")
		require.NoError(t, err)
		tries := 41
		if raceEnabled {
			tries = 3
		}
		var diffs, known []time.Duration
		measure := func(i int, email string) time.Duration {
			c := a.client()
			c.ip = fmt.Sprintf("10.1.%d.%d", i, len(email))
			hashes := hasher.Computations()
			start := time.Now()
			resp, _ := c.post("/login", url.Values{"email": {email}, "password": {"wrong password"}})
			d := time.Since(start)
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "login %s = %d", email, resp.StatusCode)
			n := hasher.Computations() - hashes
			require.Equal(t, int64(1), n, "failed login for %s computed %d hashes, want exactly 1", email, n)
			return d
		}
		for i := range tries {
			var k, u time.Duration
			if i%2 == 0 {
				k, u = measure(i, "timed@example.com"), measure(i, "untimed@example.com")
			} else {
				u, k = measure(i, "untimed@example.com"), measure(i, "timed@example.com")
			}
			diffs, known = append(diffs, k-u), append(known, k)
			// Stay under the per-account limit of failures.
			a.clock.Advance(time.Minute + time.Second)
		}
		t.Logf("failed login: median %s, median difference known-unknown %s", median(known), median(diffs))
		diff := median(diffs).Abs()
		if !raceEnabled { // the race detector's overhead swamps the difference
			require.Less(t, diff, 20*time.Millisecond, "median difference between failed logins for a known and an unknown address")
		}
	})
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Row 19: next= never leaves the site.
func TestNoOpenRedirect(t *testing.T) {
	a := httpsApp(t, database.SQLite)
	signUp(t, a, "next@example.com", "Next")
	for _, next := range []string{"//evil.example", `/\evil.example`, "https://evil.example", "http:evil.example", "/%0d%0aLocation:evil", "javascript:alert(1)"} {
		c := a.client()
		resp, _ := c.post("/login", url.Values{"email": {"next@example.com"}, "password": {goodPassword}, "next": {next}})
		loc := resp.Header.Get("Location")
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "next=%q: redirected to %q, want /", next, loc)
		// Home, or a path on this site that merely spells the address out.
		if !strings.HasPrefix(loc, "/%") {
			assert.Equal(t, "/", loc, "next=%q: redirected to %q, want /", next, loc)
		}
		u, err := url.Parse(loc)
		if assert.NoError(t, err, "next=%q: Location %q", next, loc) {
			assert.Empty(t, u.Host, "next=%q: Location %q leaves the site", next, loc)
		}
		assert.False(t, strings.HasPrefix(loc, "//"), "next=%q: Location %q leaves the site", next, loc)
	}
	c := a.client()
	resp, _ := c.post("/login", url.Values{"email": {"next@example.com"}, "password": {goodPassword}, "next": {"/settings#sessions"}})
	wantRedirect(t, resp, http.StatusSeeOther, "/settings#sessions")
}

// Row 20: every route of the router, as anonymous, user and admin. A route
// whose access class this test does not know fails it.
func TestAccessMatrix(t *testing.T) {
	forCheckouts(t, func(t *testing.T, a *app) {
		user := signUp(t, a, "member@example.com", "Member")
		admin := makeAdmin(t, a, "boss@example.com")
		target, _ := a.acct.Users.ByEmail(context.Background(), "member@example.com")
		for _, rt := range routeTableForTest(a) {
			method, path := concretePath(rt.pattern)
			path = strings.ReplaceAll(path, "no-such-id", target.ID)
			if method == "" {
				method = http.MethodGet
			}
			// Actions are checked for who may reach them, on a target
			// that the action cannot disturb: an admin's own account.
			if strings.HasSuffix(path, "/active") || strings.HasSuffix(path, "/role") || path == "/settings/delete" || path == "/logout" {
				continue
			}
			req := func() *http.Request {
				if method == http.MethodGet {
					return get(path)
				}
				r := post(path, url.Values{})
				r.Method = method
				return r
			}
			anon, _ := a.client().do(req())
			asUser, _ := user.do(req())
			asAdmin, _ := admin.do(req())
			toLogin := func(r *http.Response) bool {
				return r.StatusCode == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/login")
			}
			switch rt.access {
			case public:
				assert.NotEqual(t, http.StatusForbidden, anon.StatusCode, "%s (public) refused anonymous: %d", rt.pattern, anon.StatusCode)
				assert.False(t, toLogin(anon), "%s (public) refused anonymous: %d", rt.pattern, anon.StatusCode)
			case signedIn:
				assert.True(t, toLogin(anon), "%s (user) as anonymous = %d to %q, want a redirect to /login", rt.pattern, anon.StatusCode, anon.Header.Get("Location"))
				for who, r := range map[string]*http.Response{"user": asUser, "admin": asAdmin} {
					assert.False(t, toLogin(r), "%s (user) as %s = %d", rt.pattern, who, r.StatusCode)
					assert.NotEqual(t, http.StatusForbidden, r.StatusCode, "%s (user) as %s = %d", rt.pattern, who, r.StatusCode)
					assert.Less(t, r.StatusCode, 500, "%s (user) as %s = %d", rt.pattern, who, r.StatusCode)
				}
			case adminOnly:
				assert.True(t, toLogin(anon), "%s (admin) as anonymous = %d, want a redirect to /login", rt.pattern, anon.StatusCode)
				assert.Equal(t, http.StatusForbidden, asUser.StatusCode, "%s (admin) as user = %d, want 403", rt.pattern, asUser.StatusCode)
				assert.False(t, toLogin(asAdmin), "%s (admin) as admin = %d", rt.pattern, asAdmin.StatusCode)
				assert.NotEqual(t, http.StatusForbidden, asAdmin.StatusCode, "%s (admin) as admin = %d", rt.pattern, asAdmin.StatusCode)
				assert.Less(t, asAdmin.StatusCode, 500, "%s (admin) as admin = %d", rt.pattern, asAdmin.StatusCode)
			case apiClient:
				// A browser session is no API key: all three are refused.
				for who, r := range map[string]*http.Response{"anonymous": anon, "user": asUser, "admin": asAdmin} {
					assert.Equal(t, http.StatusUnauthorized, r.StatusCode, "%s (apikey) as %s without a key = %d, want 401", rt.pattern, who, r.StatusCode)
				}
			case shareLink:
				// Nor is a session a share link's token.
				for who, r := range map[string]*http.Response{"anonymous": anon, "user": asUser, "admin": asAdmin} {
					assert.Equal(t, http.StatusForbidden, r.StatusCode, "%s (share-link) as %s without a token = %d, want 403", rt.pattern, who, r.StatusCode)
				}
			case stripeSigned:
				// Nor is a session a Stripe signature.
				for who, r := range map[string]*http.Response{"anonymous": anon, "user": asUser, "admin": asAdmin} {
					assert.Equal(t, http.StatusBadRequest, r.StatusCode, "%s (stripe-signature) as %s without a signature = %d, want 400", rt.pattern, who, r.StatusCode)
				}
			default:
				assert.Failf(t, "unknown access class", "route %s has access class %q, which this matrix does not know: classify it here", rt.pattern, rt.access)
			}
		}
	})
}

// Rows 14, 21 and 23: admin actions apply at once and are audited; a
// user can end only their own sessions.
func TestAdminActions(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		boss := makeAdmin(t, a, "boss@example.com")
		deputy := makeAdmin(t, a, "deputy@example.com")
		member := signUp(t, a, "member@example.com", "Member")
		other := signUp(t, a, "other@example.com", "Other")
		m, _ := a.acct.Users.ByEmail(ctx, "member@example.com")
		d, _ := a.acct.Users.ByEmail(ctx, "deputy@example.com")
		bossUser, _ := a.acct.Users.ByEmail(ctx, "boss@example.com")

		resp, body := boss.get("/admin/users?q=MEMBER&status=active")
		require.Equal(t, http.StatusOK, resp.StatusCode, "user search = %d, want only the member", resp.StatusCode)
		require.Contains(t, body, "member@example.com", "user search = %d, want only the member", resp.StatusCode)
		require.NotContains(t, body, "other@example.com", "user search = %d, want only the member", resp.StatusCode)
		resp, body = boss.get("/admin/users/" + m.ID)
		require.Equal(t, http.StatusOK, resp.StatusCode, "user detail = %d", resp.StatusCode)
		require.Contains(t, body, "Deactivate", "user detail = %d", resp.StatusCode)

		resp, _ = boss.post("/admin/users/"+m.ID+"/active", url.Values{"active": {"false"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/admin/users/"+m.ID)
		require.False(t, signedInAs(t, member, "Member"), "a deactivated user is still signed in")
		resp, _ = member.post("/login", url.Values{"email": {"member@example.com"}, "password": {goodPassword}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "login of a deactivated user = %d, want 403", resp.StatusCode)

		// Demotion applies to the very next request.
		resp, _ = boss.post("/admin/users/"+d.ID+"/role", url.Values{"role": {"user"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/admin/users/")
		resp, _ = deputy.get("/admin")
		require.NotEqual(t, http.StatusOK, resp.StatusCode, "a demoted admin still reaches /admin")
		login(t, deputy, "deputy@example.com", goodPassword)
		resp, _ = deputy.get("/admin")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "demoted admin after logging in again: /admin = %d, want 403", resp.StatusCode)

		resp, _ = boss.post("/admin/users/"+bossUser.ID+"/role", url.Values{"role": {"user"}})
		require.Equal(t, http.StatusConflict, resp.StatusCode, "self-demotion = %d, want 409", resp.StatusCode)

		entries, err := a.acct.Audit.Recent(ctx, "", 10)
		require.NoError(t, err)
		var actions []string
		for _, e := range entries {
			if e.ActorID == bossUser.ID {
				actions = append(actions, e.Action+">"+e.TargetID)
			}
			assert.False(t, e.At.IsZero(), "audit entry without a time")
		}
		for _, want := range []string{"user.deactivated>" + m.ID, "user.demoted>" + d.ID} {
			assert.Contains(t, actions, want, "audit log lacks %s: %v", want, actions)
		}

		// Another user's session id: 404, and nothing ends.
		otherUser, _ := a.acct.Users.ByEmail(ctx, "other@example.com")
		list, _ := a.acct.Sessions.List(ctx, otherUser.ID, otherUser.State())
		resp, _ = deputy.post("/settings/sessions", url.Values{"session": {list[0].ID}})
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "ending another user's session = %d, want 404", resp.StatusCode)
		require.True(t, signedInAs(t, other, "Other"), "another user's session was ended")
	})
}

// Row 22: the profile form changes the name and nothing else.
func TestNoMassAssignment(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		c := signUp(t, a, "plain@example.com", "Plain")
		resp, _ := c.post("/settings/profile", url.Values{"name": {"Renamed"}, "role": {"admin"}, "email": {"x@example.com"},
			"active": {"false"}, "email_verified_at": {""}, "id": {"other"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/settings")
		u, err := a.acct.Users.ByEmail(ctx, "plain@example.com")
		require.NoError(t, err, "after posting extra fields: %+v, %v", u, err)
		require.Equal(t, "Renamed", u.Name, "after posting extra fields: %+v, %v", u, err)
		require.Equal(t, accounts.RoleUser, u.Role, "after posting extra fields: %+v, %v", u, err)
		require.True(t, u.Active, "after posting extra fields: %+v, %v", u, err)
		require.True(t, u.Verified(), "after posting extra fields: %+v, %v", u, err)
		resp, _ = c.get("/admin")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "/admin after posting role=admin = %d, want 403", resp.StatusCode)
	})
}

// Account deletion: reauthentication, confirmation, everything gone.
func TestDeleteAccount(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		c := signUp(t, a, "leaving@example.com", "Leaving")
		u, _ := a.acct.Users.ByEmail(ctx, "leaving@example.com")
		resp, _ := c.post("/settings/delete", url.Values{"confirm": {"yes"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "delete without typing DELETE = %d, want 422", resp.StatusCode)
		a.clock.Advance(11 * time.Minute)
		resp, _ = c.post("/settings/delete", url.Values{"confirm": {"DELETE"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/reauthenticate")
		c.post("/reauthenticate", url.Values{"password": {goodPassword}})
		resp, _ = c.post("/settings/delete", url.Values{"confirm": {"DELETE"}})
		wantRedirect(t, resp, http.StatusSeeOther, "/")
		_, err := a.acct.Users.ByEmail(ctx, "leaving@example.com")
		require.Error(t, err, "the account still exists")
		for _, table := range []string{"sessions", "email_tokens"} {
			var n int
			err := a.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE user_id = ?", u.ID).Scan(&n)
			assert.NoError(t, err, "%s keeps %d rows of the deleted account (%v)", table, n, err)
			assert.Equal(t, 0, n, "%s keeps %d rows of the deleted account (%v)", table, n, err)
		}
		msgs := a.mails(t, "leaving@example.com")
		assert.Contains(t, msgs[len(msgs)-1].Subject, "deleted", "no goodbye email")
		require.False(t, signedInAs(t, c, "Leaving"), "still signed in after deletion")
	})
}

// tableCounts counts the rows of every table GET requests must not touch.
func tableCounts(t testing.TB, db *database.DB) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, table := range []string{"users", "email_tokens", "sessions", "rate_events", "outbox", "audit_log", "contact_messages", "jobs",
		"stripe_events", "purchases", "credit_journal"} {
		var n int
		require.NoError(t, db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n))
		counts[table] = n
	}
	return counts
}

// Rows 16 and 17: crawling every GET route as anonymous, user and admin
// changes no row count, and every answer carries the security headers.
func TestCrawlChangesNothingAndCarriesHeaders(t *testing.T) {
	forCheckouts(t, func(t *testing.T, a *app) {
		user := signUp(t, a, "crawl@example.com", "Crawler")
		admin := makeAdmin(t, a, "crawladmin@example.com")
		u, _ := a.acct.Users.ByEmail(context.Background(), "crawl@example.com")
		a.client().post("/password/reset", url.Values{"email": {"crawl@example.com"}})
		token := a.lastLink(t, "crawl@example.com", "/password/reset/confirm")
		before := tableCounts(t, a.db)
		for _, c := range []*client{a.client(), user, admin} {
			for _, rt := range routeTableForTest(a) {
				method, path := concretePath(rt.pattern)
				if method != "" && method != http.MethodGet {
					continue
				}
				path = strings.ReplaceAll(path, "no-such-id", u.ID)
				for _, p := range []string{path, path + "?token=" + token} {
					resp, _ := c.get(p)
					assert.Less(t, resp.StatusCode, 500, "GET %s = %d", p, resp.StatusCode)
					checkHeaders(t, "GET "+p, resp)
				}
			}
		}
		after := tableCounts(t, a.db)
		require.Equal(t, fmt.Sprint(before), fmt.Sprint(after), "GET requests changed row counts:\nbefore %v\nafter  %v", before, after)

		// Partials, 403 and 429 too.
		v := asHTMX(post("/accounts/validate", url.Values{"email": {"nope"}}))
		v.Header.Set("HX-Trigger-Name", "email")
		resp, body := a.client().do(v)
		require.Equal(t, http.StatusOK, resp.StatusCode, "validate partial = %d:\n%s", resp.StatusCode, body)
		require.NotContains(t, body, "<html", "validate partial = %d:\n%s", resp.StatusCode, body)
		require.Contains(t, body, "Enter an email address", "validate partial = %d:\n%s", resp.StatusCode, body)
		checkHeaders(t, "validate partial", resp)
		resp, _ = user.get("/admin")
		checkHeaders(t, "403", resp)
		for range accounts.ResendPerAddress.Limit + 1 {
			resp, _ = a.client().post("/verify/resend", url.Values{"email": {"crawl@example.com"}})
		}
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "resend flood = %d, want 429", resp.StatusCode)
		checkHeaders(t, "429", resp)
	})
}

func checkHeaders(t testing.TB, what string, resp *http.Response) {
	t.Helper()
	for name, want := range wantHeaders {
		got := resp.Header.Get(name)
		// Pages reached through an emailed link send no referrer at all.
		if name == "Referrer-Policy" && got == "no-referrer" {
			continue
		}
		assert.Equal(t, want, got, "%s: %s = %q, want %q", what, name, got, want)
	}
}

// Rows 18, 33 and 71: hostile names and addresses are escaped in every page
// and keep log lines whole; logs name failures but never a password or
// token.
func TestHostileValuesAndLogs(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		const hostile = `"'><script>alert(1)</script><img src=x onerror=alert(2)>`
		user := signUp(t, a, "hostile@example.com", hostile)
		admin := makeAdmin(t, a, "watch@example.com")
		u, _ := a.acct.Users.ByEmail(context.Background(), "hostile@example.com")
		a.db.ExecContext(context.Background(), "INSERT INTO contact_messages (name, email, body, created_at) VALUES (?, ?, ?, ?)",
			hostile, "x@example.com", hostile, time.Now())
		for _, page := range []struct {
			c    *client
			path string
		}{
			{user, "/dashboard"}, {user, "/settings"}, {admin, "/admin"}, {admin, "/admin/users"}, {admin, "/admin/users/" + u.ID},
			{admin, "/admin/messages"}, {admin, "/admin/outbox"},
		} {
			resp, body := page.c.get(page.path)
			require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s = %d", page.path, resp.StatusCode)
			assert.NotContains(t, body, "<script>alert(1)", "GET %s: a hostile value reached the page unescaped", page.path)
			assert.NotContains(t, body, "<img src=x", "GET %s: a hostile value reached the page unescaped", page.path)
		}

		// A share link's token is in its path; only its hash is stored, so
		// the log must not hold it either: not for a good link, a
		// tampered one, or a cross-origin request refused.
		fileID := uploaded(t, user, "shared.txt", []byte("shared words"))
		resp, body := user.post("/files/"+fileID+"/shares", url.Values{"days": {"7"}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		share := shareLinkPattern.FindStringSubmatch(body)
		require.NotNil(t, share, "no share link shown")
		shareToken := strings.TrimPrefix(share[1], "/s/")
		resp, _ = a.client().get(share[1])
		require.Equal(t, http.StatusOK, resp.StatusCode, "the share link")
		tampered := "/s/" + strings.Repeat("Q", len(shareToken))
		resp, _ = a.client().get(tampered)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a made-up share link")
		crossSite := httptest.NewRequest(http.MethodPost, share[1], nil)
		crossSite.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, _ = a.client().do(crossSite)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a cross-origin POST to a share link")

		crlf := "victim@example.com\r\nlevel=ERROR msg=forged"
		a.client().post("/login", url.Values{"email": {crlf}, "password": {"secret-password-123"}})
		a.client().post("/login", url.Values{"email": {"hostile@example.com"}, "password": {"another-secret-456"}})
		logs := a.logs.String()
		assert.Contains(t, logs, `"msg":"login failed"`, "failed logins are not logged")
		assert.NotContains(t, logs, "victim@example.com", "the address of a failed login reached the log: it is personal data")
		for _, secret := range []string{"secret-password-123", "another-secret-456", goodPassword, user.session(), admin.session()} {
			assert.NotContains(t, logs, secret, "the log holds a secret: %q", secret)
		}
		var outboxTokens []string
		for _, m := range linkPattern.FindAllStringSubmatch(strings.Join(func() []string {
			var texts []string
			for _, m := range a.mails(t, "hostile@example.com") {
				texts = append(texts, m.Text)
			}
			return texts
		}(), "\n"), -1) {
			outboxTokens = append(outboxTokens, m[2])
		}
		require.NotEmpty(t, outboxTokens, "no token to look for in the logs")
		assert.Contains(t, logs, `"path":"/s/{token}"`, "share link requests are not logged with the token redacted")
		for _, tok := range []string{shareToken, strings.TrimPrefix(tampered, "/s/")} {
			assert.NotContains(t, logs, tok, "the log holds a share link's token")
		}
		for _, tok := range outboxTokens {
			assert.NotContains(t, logs, tok, "the log holds a link token")
		}
		for line := range strings.Lines(logs) {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec), "log line is not one JSON record (a CRLF split it?): %q", line)
			require.False(t, strings.HasPrefix(strings.TrimSpace(line), "level="), "forged log line: %q", line)
		}
	})
}

// Login page throughput, on both databases: the signed-out form, a failed
// login and a successful one, then a successful one with the production
// argon2 parameters, what a real sign-in costs. The clock moves past the
// failure limits' windows at every failure, so every iteration does the
// whole work.
func BenchmarkLoginPage(b *testing.B) {
	for _, dialect := range dbtest.Dialects {
		b.Run(string(dialect), func(b *testing.B) {
			a := newApp(b, dialect, options{migrated: true})
			_, err := a.acct.Users.EnsureUser(context.Background(), "bench@example.com", "Bench", goodPassword, "test")
			require.NoError(b, err)
			b.Run("form", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rec := httptest.NewRecorder()
					a.handler.ServeHTTP(rec, get("/login"))
					require.Equal(b, http.StatusOK, rec.Code, "GET /login = %d", rec.Code)
				}
			})
			for _, tc := range []struct {
				name, password string
				status         int
			}{{"failed", "wrong password", http.StatusUnauthorized}, {"success", goodPassword, http.StatusSeeOther}} {
				b.Run(tc.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						resp, _ := a.client().post("/login", url.Values{"email": {"bench@example.com"}, "password": {tc.password}})
						require.Equal(b, tc.status, resp.StatusCode, "POST /login = %d", resp.StatusCode)
						a.clock.Advance(accounts.LoginFailuresPerAccount.Window)
					}
				})
			}
			b.Run("success-production-argon2", func(b *testing.B) {
				a.acct.Users.SetHasher(accounts.NewHasher(accounts.DefaultParams))
				_, err := a.acct.Users.EnsureUser(context.Background(), "argon2@example.com", "Bench", goodPassword, "test")
				require.NoError(b, err)
				b.ReportAllocs()
				for b.Loop() {
					resp, _ := a.client().post("/login", url.Values{"email": {"argon2@example.com"}, "password": {goodPassword}})
					require.Equal(b, http.StatusSeeOther, resp.StatusCode, "POST /login = %d", resp.StatusCode)
				}
			})
		})
	}
}

// SECURITY.md row 11 for the app's other cookie: over https the flash cookie
// is __Host- prefixed and Secure, like the session cookie.
func TestFlashCookieOverHTTPS(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			resp, _ := httpsApp(t, dialect).client().post("/contact", validForm())
			var flash *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == "__Host-flash" {
					flash = ck
				}
			}
			require.NotNil(t, flash, "flash cookie over https = %+v (all set: %v), want __Host-flash, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", flash, resp.Cookies())
			require.True(t, flash.Secure, "flash cookie over https = %+v (all set: %v), want __Host-flash, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", flash, resp.Cookies())
			require.True(t, flash.HttpOnly, "flash cookie over https = %+v (all set: %v), want __Host-flash, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", flash, resp.Cookies())
			require.Equal(t, http.SameSiteLaxMode, flash.SameSite, "flash cookie over https = %+v (all set: %v), want __Host-flash, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", flash, resp.Cookies())
			require.Equal(t, "/", flash.Path, "flash cookie over https = %+v (all set: %v), want __Host-flash, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", flash, resp.Cookies())
			require.Equal(t, "", flash.Domain, "flash cookie over https = %+v (all set: %v), want __Host-flash, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", flash, resp.Cookies())
		})
	}
}
