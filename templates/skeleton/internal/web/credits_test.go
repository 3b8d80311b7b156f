package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

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
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="credit-balance"`) || !strings.Contains(body, `<span class="stat-value">1</span>`) {
			t.Fatalf("credits page = %d:\n%s", resp.StatusCode, body)
		}
		if !strings.Contains(body, `<svg class="usage-chart"`) || strings.Contains(body, "style=") {
			t.Fatal("the usage chart is missing or uses inline styles the CSP blocks")
		}
		if _, dash := user.get("/dashboard"); !strings.Contains(dash, `id="credit-balance"`) || !strings.Contains(dash, `hx-post="/credits/services/word-count/runs"`) {
			t.Fatal("the dashboard lacks the balance or the service forms")
		}
		key := keyField.FindStringSubmatch(body)
		if key == nil {
			t.Fatal("no idempotency key in the run form")
		}
		run := func(key string) string {
			resp, body := user.do(asHTMX(post("/credits/services/word-count/runs", url.Values{"text": {"a b c"}, "key": {key}})))
			if resp.StatusCode != http.StatusOK || strings.Contains(body, "<html") {
				t.Fatalf("htmx run = %d:\n%s", resp.StatusCode, body)
			}
			return body
		}
		body = run(key[1])
		if !strings.Contains(body, `id="credit-balance" class="credit-balance" hx-swap-oob="true"><span class="stat-value">0</span>`) ||
			!strings.Contains(body, "<dt>words</dt><dd>3</dd>") {
			t.Fatalf("run result does not swap the new balance in:\n%s", body)
		}
		// A double submit of the same form runs nothing again.
		if body := run(key[1]); !strings.Contains(body, "nothing charged again") {
			t.Fatalf("resubmitted form:\n%s", body)
		}
		next := regexp.MustCompile(`id="run-key-word-count" name="key" value="([A-Z2-7]+)" hx-swap-oob="true"`).FindStringSubmatch(body)
		if next == nil || next[1] == key[1] {
			t.Fatalf("the run result does not hand the form a new key:\n%s", body)
		}
		body = run(next[1])
		if !strings.Contains(body, "Not enough credits") || !strings.Contains(body, "needs 1 credit and you have 0") {
			t.Fatalf("insufficient credits state:\n%s", body)
		}
		resp, body = user.post("/credits/services/word-count/runs", url.Values{"text": {"x"}, "key": {"no-js"}})
		if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(body, "you have 0") {
			t.Fatalf("run without htmx and without credits = %d", resp.StatusCode)
		}

		resp, body = user.get("/credits/history?kind=consumption&service=word-count")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "1 entry") || !strings.Contains(body, "-1") {
			t.Fatalf("filtered history = %d:\n%s", resp.StatusCode, body)
		}
		if _, body := user.get("/credits/history?from=yesterday"); !strings.Contains(body, "is not a date") {
			t.Fatal("a bad date is not explained")
		}
		resp, body = user.get("/credits/history.csv?sort=oldest")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("CSV = %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
		records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(records) != 3 || records[1][2] != "grant" || records[2][3] != "-1" || records[2][4] != "0" {
			t.Fatalf("CSV = %v, %v", records, err)
		}
	})
}

func TestCSVCellsAreNotFormulas(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+cmd": "'+cmd", "@x": "'@x", "-2": "'-2", "ok": "ok", "": ""} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// Row 21: a key is shown once; another user's key cannot be revoked.
func TestAPIKeyPages(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		alice := signUp(t, a, "keys-a@example.com", "Alice")
		bob := signUp(t, a, "keys-b@example.com", "Bob")
		resp, body := alice.post("/settings/api-keys", url.Values{"name": {"laptop"}})
		token := regexp.MustCompile(`sk_[a-z2-7]{8}_[a-z2-7]{26}`).FindString(body)
		if resp.StatusCode != http.StatusCreated || token == "" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("create key = %d, token %q:\n%s", resp.StatusCode, token, body)
		}
		if _, body := alice.get("/settings/api-keys"); strings.Contains(body, token) || !strings.Contains(body, token[:11]) {
			t.Fatal("the key list shows the secret again, or not the prefix")
		}
		if resp, _ := alice.post("/settings/api-keys", url.Values{"name": {""}}); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("nameless key = %d, want 422", resp.StatusCode)
		}
		u, _ := a.acct.Users.ByEmail(context.Background(), "keys-a@example.com")
		keys, _ := apikeys.New(a.db, a.clock).List(context.Background(), u.ID)
		if resp, _ := bob.post("/settings/api-keys/"+keys[0].ID+"/revoke", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("bob revoking alice's key = %d, want 404", resp.StatusCode)
		}
		if _, body := bob.get("/settings/api-keys"); strings.Contains(body, "laptop") {
			t.Fatal("bob sees alice's key")
		}
		var bal api.BalanceBody
		if r := a.call(t, "GET", "/api/v1/balance", token, "", "", &bal); r.StatusCode != 200 {
			t.Fatalf("the new key does not work: %d", r.StatusCode)
		}
		if resp, _ := alice.post("/settings/api-keys/"+keys[0].ID+"/revoke", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke = %d", resp.StatusCode)
		}
		if r := a.call(t, "GET", "/api/v1/balance", token, "", "", nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("revoked key = %d, want 401", r.StatusCode)
		}
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

		if resp, _ := admin.post(path, url.Values{"amount": {"+10"}, "reason": {"welcome"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("grant = %d", resp.StatusCode)
		}
		resp, body := admin.post(path, url.Values{"amount": {"-11"}, "reason": {"too much"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "would make it negative") {
			t.Fatalf("deduct below zero = %d", resp.StatusCode)
		}
		if resp, body := admin.post(path, url.Values{"amount": {"-3"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Give a reason") {
			t.Fatalf("deduct without reason = %d", resp.StatusCode)
		}
		for _, bad := range []string{"", "0", "ten", "1.5"} {
			if resp, _ := admin.post(path, url.Values{"amount": {bad}, "reason": {"x"}}); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("amount %q = %d, want 422", bad, resp.StatusCode)
			}
		}
		if resp, _ := admin.post(path, url.Values{"amount": {"-4"}, "reason": {"double grant"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("deduct = %d", resp.StatusCode)
		}
		if b, _ := credits.New(a.db).Balance(context.Background(), u.ID); b != 6 {
			t.Fatalf("balance = %d, want 6", b)
		}
		entries, _ := audit.NewLog(a.db).Recent(context.Background(), u.ID, 10)
		found := false
		for _, e := range entries {
			found = found || (e.Action == "credits.admin_deduction" && strings.Contains(e.Detail, "before 10, after 6"))
		}
		if !found {
			t.Fatalf("no audit row for the deduction: %+v", entries)
		}
		_, body = admin.get(path)
		if !strings.Contains(body, "double grant") || !strings.Contains(body, `<span class="stat-value">6</span>`) {
			t.Fatal("the user's credit page lacks the balance or the journal")
		}
		if resp, _ := admin.post("/admin/users/no-such-user/credits", url.Values{"amount": {"5"}, "reason": {"x"}}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("adjusting an unknown user = %d, want 404", resp.StatusCode)
		}
		_, body = admin.get("/admin/credits?check=1")
		if !strings.Contains(body, "Every balance equals its journal") {
			t.Fatal("the ledger check is not shown")
		}
	})
}

func TestCreditNoticeSettingsAndBanner(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		user := signUp(t, a, "banner@example.com", "Banner")
		u, _ := a.acct.Users.ByEmail(context.Background(), "banner@example.com")
		grant(t, a, u.ID, 3)
		if _, body := user.get("/credits"); strings.Contains(body, "below your notice level") {
			t.Fatal("a banner without a notice level")
		}
		if resp, _ := user.post("/credits/notices", url.Values{"threshold": {"5"}, "balance": {"999"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save notices = %d", resp.StatusCode)
		}
		_, body := user.get("/credits")
		if !strings.Contains(body, "Your balance of 3 credits is below your notice level of 5") {
			t.Fatal("no low-balance banner")
		}
		if strings.Contains(body, `name="weekly" checked`) {
			t.Fatal("the unticked weekly summary stayed on")
		}
		if b, _ := credits.New(a.db).Balance(context.Background(), u.ID); b != 3 {
			t.Fatalf("a posted balance field changed the balance to %d", b)
		}
		user.post("/credits/notices", url.Values{"threshold": {"-1"}})
		if s, _ := credits.New(a.db).Settings(context.Background(), u.ID); s.LowBalanceThreshold != 5 {
			t.Fatalf("a negative level was saved: %+v", s)
		}
	})
}
