package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/api"
)

// testCredits builds the credit parts over db, with the example services.
func testCredits(t testing.TB, db *database.DB, logger *slog.Logger, clk clock.Clock) Credits {
	t.Helper()
	ledger := credits.New(db)
	registry := services.NewRegistry(ledger, logger)
	if err := services.Defaults(registry); err != nil {
		t.Fatal(err)
	}
	return Credits{Ledger: ledger, Services: registry, Keys: apikeys.New(db, clk)}
}

// apiClientFor makes a verified user with an API key. It signs up through
// the accounts service, not the page, whose rate limit would stop a
// benchmark's many users.
func apiClientFor(t testing.TB, a *app, email string) (userID, token string) {
	t.Helper()
	ctx := context.Background()
	// Each user signs up from an address of its own, past the per-address
	// sign-up limit.
	if err := a.acct.Users.SignUp(ctx, email, "API user", goodPassword, "client of "+email); err != nil {
		t.Fatal(err)
	}
	u, err := a.acct.Users.Verify(ctx, a.lastLink(t, email, "/verify"))
	if err != nil {
		t.Fatal(err)
	}
	_, token, err = apikeys.New(a.db, a.clock).Create(ctx, u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID, token
}

func grant(t testing.TB, a *app, userID string, n int64) {
	t.Helper()
	if _, err := credits.New(a.db).Add(context.Background(), credits.Credit{UserID: userID, Kind: credits.KindGrant, Amount: n}); err != nil {
		t.Fatal(err)
	}
}

// call sends an API request as a program would: no cookies, no Origin.
func (a *app) call(t *testing.T, method, path, token, key, body string, into any) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, text := a.do(r)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type = %q, want application/json\n%s", method, path, ct, text)
	}
	if into != nil {
		if err := json.Unmarshal([]byte(text), into); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, text)
		}
	}
	return resp
}

type apiErr struct {
	Error struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Balance  *int64 `json:"balance"`
		Required *int64 `json:"required"`
	} `json:"error"`
}

func TestAPIRunChargesOnceAndReplays(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		user, token := apiClientFor(t, a, "api@example.com")
		grant(t, a, user, 2)
		body := `{"input": {"text": "three little words"}}`

		var run api.RunBody
		resp := a.call(t, "POST", "/api/v1/services/word-count/runs", token, "req-1", body, &run)
		if resp.StatusCode != http.StatusCreated || run.Status != "succeeded" || run.Balance != 1 || run.Output["words"] != float64(3) {
			t.Fatalf("run = %d %+v", resp.StatusCode, run)
		}
		var again api.RunBody
		resp = a.call(t, "POST", "/api/v1/services/word-count/runs", token, "req-1", body, &again)
		if resp.StatusCode != http.StatusOK || !again.Replayed || again.ID != run.ID || again.Balance != 1 ||
			resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay = %d %+v", resp.StatusCode, again)
		}
		var e apiErr
		resp = a.call(t, "POST", "/api/v1/services/word-count/runs", token, "req-1", `{"input": {"text": "other"}}`, &e)
		if resp.StatusCode != http.StatusConflict || e.Error.Code != "idempotency_key_reused" {
			t.Fatalf("same key, other body = %d %+v", resp.StatusCode, e)
		}

		a.call(t, "POST", "/api/v1/services/word-count/runs", token, "req-2", body, nil)
		e = apiErr{}
		resp = a.call(t, "POST", "/api/v1/services/word-count/runs", token, "req-3", body, &e)
		if resp.StatusCode != http.StatusPaymentRequired || e.Error.Code != "insufficient_credits" ||
			e.Error.Balance == nil || *e.Error.Balance != 0 || e.Error.Required == nil || *e.Error.Required != 1 {
			t.Fatalf("broke = %d %+v", resp.StatusCode, e)
		}
		var free api.RunBody
		if resp := a.call(t, "POST", "/api/v1/services/slugify/runs", token, "", `{"input": {"text": "Free Run"}}`, &free); resp.StatusCode != http.StatusCreated || free.Output["slug"] != "free-run" {
			t.Fatalf("free run with no credits = %d %+v", resp.StatusCode, free)
		}

		var balance api.BalanceBody
		if a.call(t, "GET", "/api/v1/balance", token, "", "", &balance); balance.Balance != 0 {
			t.Fatalf("balance = %d, want 0", balance.Balance)
		}
		var journal struct {
			Entries []api.EntryBody `json:"entries"`
			Total   int             `json:"total"`
		}
		a.call(t, "GET", "/api/v1/journal?kind=consumption&service=word-count&sort=oldest", token, "", "", &journal)
		if journal.Total != 2 || journal.Entries[0].ID != run.JournalID || journal.Entries[0].BalanceAfter != 1 {
			t.Fatalf("journal = %+v", journal)
		}
		for _, bad := range []string{"kind=gift", "from=yesterday", "page=0", "sort=random"} {
			e = apiErr{}
			if resp := a.call(t, "GET", "/api/v1/journal?"+bad, token, "", "", &e); resp.StatusCode != http.StatusBadRequest || e.Error.Code != "invalid_filter" {
				t.Errorf("journal?%s = %d %+v, want 400 invalid_filter", bad, resp.StatusCode, e)
			}
		}
	})
}

func TestAPIRefusesBadRequests(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	user, token := apiClientFor(t, a, "bad@example.com")
	grant(t, a, user, 5)
	tests := []struct {
		name, path, key, body string
		status                int
		code                  string
	}{
		{"unknown service", "/api/v1/services/nope/runs", "", "{}", 404, "unknown_service"},
		{"unknown field", "/api/v1/services/word-count/runs", "", `{"input": {}, "cost": 0}`, 400, "invalid_json"},
		{"not json", "/api/v1/services/word-count/runs", "", `text=hi`, 400, "invalid_json"},
		{"no text", "/api/v1/services/word-count/runs", "", `{"input": {}}`, 422, "invalid_input"},
		{"key with a space", "/api/v1/services/word-count/runs", "a b", `{"input": {"text": "x"}}`, 400, "invalid_idempotency_key"},
		{"key too long", "/api/v1/services/word-count/runs", strings.Repeat("k", 201), `{"input": {"text": "x"}}`, 400, "invalid_idempotency_key"},
	}
	for _, tt := range tests {
		var e apiErr
		resp := a.call(t, "POST", tt.path, token, tt.key, tt.body, &e)
		if resp.StatusCode != tt.status || e.Error.Code != tt.code || e.Error.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s", tt.name, resp.StatusCode, e, tt.status, tt.code)
		}
	}
	if b, _ := credits.New(a.db).Balance(context.Background(), user); b != 5 {
		t.Fatalf("balance = %d after refused requests, want 5", b)
	}
	var e apiErr
	if resp := a.call(t, "GET", "/api/v1/nothing-here", token, "", "", &e); resp.StatusCode != 404 || e.Error.Code != "not_found" {
		t.Fatalf("unknown API path = %d %+v", resp.StatusCode, e)
	}
}

// Rows 21 and the key checks: wrong, revoked and foreign keys get nothing.
func TestAPIKeysAndOwnership(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		alice, aliceToken := apiClientFor(t, a, "alice@example.com")
		_, bobToken := apiClientFor(t, a, "bob@example.com")
		grant(t, a, alice, 3)
		var run api.RunBody
		a.call(t, "POST", "/api/v1/services/word-count/runs", aliceToken, "", `{"input": {"text": "mine"}}`, &run)

		var e apiErr
		if resp := a.call(t, "GET", "/api/v1/runs/"+run.ID, bobToken, "", "", &e); resp.StatusCode != 404 || e.Error.Code != "not_found" {
			t.Fatalf("bob reading alice's run = %d %+v, want 404", resp.StatusCode, e)
		}
		var journal struct{ Total int }
		if a.call(t, "GET", "/api/v1/journal", bobToken, "", "", &journal); journal.Total != 0 {
			t.Fatalf("bob's journal lists %d entries, want none of alice's", journal.Total)
		}
		var mine api.RunBody
		if resp := a.call(t, "GET", "/api/v1/runs/"+run.ID, aliceToken, "", "", &mine); resp.StatusCode != 200 || mine.ID != run.ID {
			t.Fatalf("alice reading her run = %d %+v", resp.StatusCode, mine)
		}

		for name, token := range map[string]string{
			"none": "", "wrong": "sk_abcdefgh_" + strings.Repeat("a", 26), "mangled": aliceToken + "x", "not ours": "ghp_123",
		} {
			e = apiErr{}
			resp := a.call(t, "GET", "/api/v1/balance", token, "", "", &e)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") ||
				(e.Error.Code != "missing_api_key" && e.Error.Code != "invalid_api_key") {
				t.Errorf("%s key = %d %+v, want 401", name, resp.StatusCode, e)
			}
		}
		keys := apikeys.New(a.db, a.clock)
		list, _ := keys.List(context.Background(), alice)
		if err := keys.Revoke(context.Background(), alice, list[0].ID); err != nil {
			t.Fatal(err)
		}
		e = apiErr{}
		if resp := a.call(t, "GET", "/api/v1/balance", aliceToken, "", "", &e); resp.StatusCode != 401 || e.Error.Code != "invalid_api_key" {
			t.Fatalf("revoked key = %d %+v, want 401 invalid_api_key", resp.StatusCode, e)
		}
	})
}

// The OpenAPI document is valid JSON and lists every API route of the
// route table, with its method.
func TestOpenAPIListsEveryAPIRoute(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	resp := a.call(t, "GET", "/api/v1/openapi.json", "", "", "", &doc)
	if resp.StatusCode != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json = %d, version %q", resp.StatusCode, doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := 0
	for _, rt := range routeTableForTest(a) {
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok || !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		served++
		if !documented[method+" "+path] {
			t.Errorf("route %s is not in openapi.json", rt.pattern)
		}
		delete(documented, method+" "+path)
	}
	if served < 6 {
		t.Fatalf("found %d API routes in the route table, want at least 6", served)
	}
	for op := range documented {
		t.Errorf("openapi.json documents %s, which the route table does not serve", op)
	}
}

func TestAPIOnBothDatabases(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			a := migratedApp(t, d)
			_, token := apiClientFor(t, a, "svc@example.com")
			var list struct{ Services []api.ServiceBody }
			a.call(t, "GET", "/api/v1/services", token, "", "", &list)
			if len(list.Services) != 2 || list.Services[0].Name != "slugify" || !list.Services[0].Free || list.Services[1].Cost != 1 {
				t.Fatalf("services = %+v", list.Services)
			}
		})
	}
}
