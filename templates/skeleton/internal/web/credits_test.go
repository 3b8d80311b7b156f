package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/api"
)

var keyField = regexp.MustCompile(`id="run-key-word-count" name="key" value="([A-Z2-7]+)"`)

// The browser's path: the balance on the credits page, a run through htmx
// that swaps the new balance in place, the friendly state when credits run
// out, and the history with its filters and CSV export.
func TestCreditsPageRunsInPlace(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		user := signUp(t, a, "runner@example.com", "Runner")
		u, _ := a.acct.Users.ByEmail(context.Background(), "runner@example.com")
		grant(t, a, u.ID, 1)

		resp, body := user.get("/credits")
		require.Equal(t, http.StatusOK, resp.StatusCode, "credits page = %d:\n%s", resp.StatusCode, body)
		require.Contains(t, body, `id="credit-balance"`, "credits page = %d:\n%s", resp.StatusCode, body)
		require.Contains(t, body, `<span class="stat-value">1</span>`, "credits page = %d:\n%s", resp.StatusCode, body)
		require.Contains(t, body, `<svg class="usage-chart"`, "the usage chart is missing or uses inline styles the CSP blocks")
		require.NotContains(t, body, "style=", "the usage chart is missing or uses inline styles the CSP blocks")
		_, dash := user.get("/dashboard")
		require.Contains(t, dash, `id="credit-balance"`, "the dashboard lacks the balance or the service forms")
		require.Contains(t, dash, `hx-post="/credits/services/word-count/runs"`, "the dashboard lacks the balance or the service forms")
		key := keyField.FindStringSubmatch(body)
		require.NotNil(t, key, "no idempotency key in the run form")
		run := func(key string) string {
			resp, body := user.do(asHTMX(post("/credits/services/word-count/runs", url.Values{"text": {"a b c"}, "key": {key}})))
			require.Equal(t, http.StatusOK, resp.StatusCode, "htmx run = %d:\n%s", resp.StatusCode, body)
			require.NotContains(t, body, "<html", "htmx run = %d:\n%s", resp.StatusCode, body)
			return body
		}
		body = run(key[1])
		require.Contains(t, body, `id="credit-balance" class="credit-balance" hx-swap-oob="true"><span class="stat-value">0</span>`, "run result does not swap the new balance in:\n%s", body)
		require.Contains(t, body, "<dt>words</dt><dd>3</dd>", "run result does not swap the new balance in:\n%s", body)
		// A double submit of the same form runs nothing again.
		body = run(key[1])
		require.Contains(t, body, "nothing charged again", "resubmitted form:\n%s", body)
		next := regexp.MustCompile(`id="run-key-word-count" name="key" value="([A-Z2-7]+)" hx-swap-oob="true"`).FindStringSubmatch(body)
		require.NotNil(t, next, "the run result does not hand the form a new key:\n%s", body)
		require.NotEqual(t, key[1], next[1], "the run result does not hand the form a new key:\n%s", body)
		body = run(next[1])
		require.Contains(t, body, "Not enough credits", "insufficient credits state:\n%s", body)
		require.Contains(t, body, "needs 1 credit and you have 0", "insufficient credits state:\n%s", body)
		resp, body = user.post("/credits/services/word-count/runs", url.Values{"text": {"x"}, "key": {"no-js"}})
		require.Equal(t, http.StatusPaymentRequired, resp.StatusCode, "run without htmx and without credits = %d", resp.StatusCode)
		require.Contains(t, body, "you have 0", "run without htmx and without credits = %d", resp.StatusCode)

		resp, body = user.get("/credits/history?kind=consumption&service=word-count")
		require.Equal(t, http.StatusOK, resp.StatusCode, "filtered history = %d:\n%s", resp.StatusCode, body)
		require.Contains(t, body, "1 entry", "filtered history = %d:\n%s", resp.StatusCode, body)
		require.Contains(t, body, "-1", "filtered history = %d:\n%s", resp.StatusCode, body)
		_, body = user.get("/credits/history?from=yesterday")
		require.Contains(t, body, "is not a date", "a bad date is not explained")
		resp, body = user.get("/credits/history.csv?sort=oldest")
		require.Equal(t, http.StatusOK, resp.StatusCode, "CSV = %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		require.True(t, strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment"), "CSV = %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		require.NoError(t, err, "CSV = %v, %v", records, err)
		require.Len(t, records, 3, "CSV = %v, %v", records, err)
		require.Equal(t, "grant", records[1][2], "CSV = %v, %v", records, err)
		require.Equal(t, "-1", records[2][3], "CSV = %v, %v", records, err)
		require.Equal(t, "0", records[2][4], "CSV = %v, %v", records, err)
	})
}

func TestCSVCellsAreNotFormulas(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+cmd": "'+cmd", "@x": "'@x", "-2": "'-2", "ok": "ok", "": ""} {
		got := csvCell(in)
		assert.Equal(t, want, got, "csvCell(%q) = %q, want %q", in, got, want)
	}
}

// Row 21: a key is shown once; another user's key cannot be revoked.
func TestAPIKeyPages(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		alice := signUp(t, a, "keys-a@example.com", "Alice")
		bob := signUp(t, a, "keys-b@example.com", "Bob")
		resp, body := alice.post("/settings/api-keys", url.Values{"name": {"laptop"}})
		token := regexp.MustCompile(`sk_[a-z2-7]{8}_[a-z2-7]{26}`).FindString(body)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "create key = %d, token %q:\n%s", resp.StatusCode, token, body)
		require.NotEqual(t, "", token, "create key = %d, token %q:\n%s", resp.StatusCode, token, body)
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "create key = %d, token %q:\n%s", resp.StatusCode, token, body)
		_, body = alice.get("/settings/api-keys")
		require.NotContains(t, body, token, "the key list shows the secret again, or not the prefix")
		require.Contains(t, body, token[:11], "the key list shows the secret again, or not the prefix")
		resp, _ = alice.post("/settings/api-keys", url.Values{"name": {""}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "nameless key = %d, want 422", resp.StatusCode)
		u, _ := a.acct.Users.ByEmail(context.Background(), "keys-a@example.com")
		keys, _ := apikeys.New(a.db, a.clock).List(context.Background(), u.ID)
		resp, _ = bob.post("/settings/api-keys/"+keys[0].ID+"/revoke", nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "bob revoking alice's key = %d, want 404", resp.StatusCode)
		_, body = bob.get("/settings/api-keys")
		require.NotContains(t, body, "laptop", "bob sees alice's key")
		var bal api.BalanceBody
		r := a.call(t, "GET", "/api/v1/balance", token, "", "", &bal)
		require.Equal(t, 200, r.StatusCode, "the new key does not work: %d", r.StatusCode)
		resp, _ = alice.post("/settings/api-keys/"+keys[0].ID+"/revoke", nil)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "revoke = %d", resp.StatusCode)
		r = a.call(t, "GET", "/api/v1/balance", token, "", "", nil)
		require.Equal(t, http.StatusUnauthorized, r.StatusCode, "revoked key = %d, want 401", r.StatusCode)
	})
}

// Admin tools: adjustments need a reason, never go below zero, and are
// audited with the balance before and after.
func TestAdminCreditAdjustments(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		signUp(t, a, "member-c@example.com", "Member")
		admin := makeAdmin(t, a, "boss-c@example.com")
		u, _ := a.acct.Users.ByEmail(context.Background(), "member-c@example.com")
		path := "/admin/users/" + u.ID + "/credits"

		resp, _ := admin.post(path, url.Values{"amount": {"+10"}, "reason": {"welcome"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "grant = %d", resp.StatusCode)
		resp, body := admin.post(path, url.Values{"amount": {"-11"}, "reason": {"too much"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "deduct below zero = %d", resp.StatusCode)
		require.Contains(t, body, "would make it negative", "deduct below zero = %d", resp.StatusCode)
		resp, body = admin.post(path, url.Values{"amount": {"-3"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "deduct without reason = %d", resp.StatusCode)
		require.Contains(t, body, "Give a reason", "deduct without reason = %d", resp.StatusCode)
		for _, bad := range []string{"", "0", "ten", "1.5"} {
			resp, _ := admin.post(path, url.Values{"amount": {bad}, "reason": {"x"}})
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "amount %q = %d, want 422", bad, resp.StatusCode)
		}
		resp, _ = admin.post(path, url.Values{"amount": {"-4"}, "reason": {"double grant"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "deduct = %d", resp.StatusCode)
		b, _ := credits.New(a.db, a.clock).Balance(context.Background(), u.ID)
		require.Equal(t, int64(6), b, "balance = %d, want 6", b)
		entries, _ := audit.NewLog(a.db).Recent(context.Background(), u.ID, 10)
		found := false
		for _, e := range entries {
			found = found || (e.Action == "credits.admin_deduction" && strings.Contains(e.Detail, "before 10, after 6"))
		}
		require.True(t, found, "no audit row for the deduction: %+v", entries)
		_, body = admin.get(path)
		require.Contains(t, body, "double grant", "the user's credit page lacks the balance or the journal")
		require.Contains(t, body, `<span class="stat-value">6</span>`, "the user's credit page lacks the balance or the journal")
		resp, _ = admin.post("/admin/users/no-such-user/credits", url.Values{"amount": {"5"}, "reason": {"x"}})
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "adjusting an unknown user = %d, want 404", resp.StatusCode)
		_, body = admin.get("/admin/credits?check=1")
		require.Contains(t, body, "Every balance equals its journal", "the ledger check is not shown")
	})
}

func TestCreditNoticeSettingsAndBanner(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		user := signUp(t, a, "banner@example.com", "Banner")
		u, _ := a.acct.Users.ByEmail(context.Background(), "banner@example.com")
		grant(t, a, u.ID, 3)
		_, body := user.get("/credits")
		require.NotContains(t, body, "below your notice level", "a banner without a notice level")
		resp, _ := user.post("/credits/notices", url.Values{"threshold": {"5"}, "balance": {"999"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "save notices = %d", resp.StatusCode)
		_, body = user.get("/credits")
		require.Contains(t, body, "Your balance of 3 credits is below your notice level of 5", "no low-balance banner")
		require.NotContains(t, body, `name="weekly" checked`, "the unticked weekly summary stayed on")
		b, _ := credits.New(a.db, a.clock).Balance(context.Background(), u.ID)
		require.Equal(t, int64(3), b, "a posted balance field changed the balance to %d", b)
		user.post("/credits/notices", url.Values{"threshold": {"-1"}})
		s, _ := credits.New(a.db, a.clock).Settings(context.Background(), u.ID)
		require.Equal(t, int64(5), s.LowBalanceThreshold, "a negative level was saved: %+v", s)
	})
}

// Audit entries are dated by the application's clock, not the system's.
func TestAuditEntriesUseTheInjectedClock(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		signUp(t, a, "dated@example.com", "Dated")
		u, _ := a.acct.Users.ByEmail(ctx, "dated@example.com")
		a.clock.Advance(100 * time.Hour)
		admin := makeAdmin(t, a, "boss-a@example.com")
		resp, _ := admin.post("/admin/users/"+u.ID+"/credits", url.Values{"amount": {"+3"}, "reason": {"welcome"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "grant = %d", resp.StatusCode)
		entries, err := a.acct.Audit.Recent(ctx, u.ID, 10)
		require.NoError(t, err)
		require.NotEmpty(t, entries)
		for _, e := range entries {
			assert.True(t, e.At.Equal(a.clock.Now()), "audit entry %s dated %s, want the clock's %s", e.Action, e.At, a.clock.Now())
		}
	})
}
