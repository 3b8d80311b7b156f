package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	ledger := credits.New(db, clk)
	registry := services.NewRegistry(db, ledger, logger, clk)
	require.NoError(t, services.RegisterAll(registry))
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
	require.NoError(t, a.acct.Users.SignUp(ctx, email, "API user", goodPassword, "client of "+email))
	u, err := a.acct.Users.Verify(ctx, a.lastLink(t, email, "/verify"))
	require.NoError(t, err)
	_, token, err = apikeys.New(a.db, a.clock).Create(ctx, u.ID, "test", nil)
	require.NoError(t, err)
	return u.ID, token
}

func grant(t testing.TB, a *app, userID string, n int64) {
	t.Helper()
	_, err := credits.New(a.db, a.clock).Add(context.Background(), credits.Credit{UserID: userID, Kind: credits.KindGrant, Amount: n})
	require.NoError(t, err)
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
	ct := resp.Header.Get("Content-Type")
	require.Equal(t, "application/json", ct, "%s %s: Content-Type = %q, want application/json\n%s", method, path, ct, text)
	if into != nil {
		err := json.Unmarshal([]byte(text), into)
		require.NoError(t, err, "%s %s: %v\n%s", method, path, err, text)
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
		require.Equal(t, http.StatusCreated, resp.StatusCode, "run = %d %+v", resp.StatusCode, run)
		require.Equal(t, "succeeded", run.Status, "run = %d %+v", resp.StatusCode, run)
		require.Equal(t, int64(1), run.Balance, "run = %d %+v", resp.StatusCode, run)
		require.Equal(t, float64(3), run.Output["words"], "run = %d %+v", resp.StatusCode, run)
		var again api.RunBody
		resp = a.call(t, "POST", "/api/v1/services/word-count/runs", token, "req-1", body, &again)
		require.Equal(t, http.StatusOK, resp.StatusCode, "replay = %d %+v", resp.StatusCode, again)
		require.True(t, again.Replayed, "replay = %d %+v", resp.StatusCode, again)
		require.Equal(t, run.ID, again.ID, "replay = %d %+v", resp.StatusCode, again)
		require.Equal(t, int64(1), again.Balance, "replay = %d %+v", resp.StatusCode, again)
		require.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"), "replay = %d %+v", resp.StatusCode, again)
		var e apiErr
		resp = a.call(t, "POST", "/api/v1/services/word-count/runs", token, "req-1", `{"input": {"text": "other"}}`, &e)
		require.Equal(t, http.StatusConflict, resp.StatusCode, "same key, other body = %d %+v", resp.StatusCode, e)
		require.Equal(t, "idempotency_key_reused", e.Error.Code, "same key, other body = %d %+v", resp.StatusCode, e)

		a.call(t, "POST", "/api/v1/services/word-count/runs", token, "req-2", body, nil)
		e = apiErr{}
		resp = a.call(t, "POST", "/api/v1/services/word-count/runs", token, "req-3", body, &e)
		require.Equal(t, http.StatusPaymentRequired, resp.StatusCode, "broke = %d %+v", resp.StatusCode, e)
		require.Equal(t, "insufficient_credits", e.Error.Code, "broke = %d %+v", resp.StatusCode, e)
		require.NotNil(t, e.Error.Balance, "broke = %d %+v", resp.StatusCode, e)
		require.Equal(t, int64(0), *e.Error.Balance, "broke = %d %+v", resp.StatusCode, e)
		require.NotNil(t, e.Error.Required, "broke = %d %+v", resp.StatusCode, e)
		require.Equal(t, int64(1), *e.Error.Required, "broke = %d %+v", resp.StatusCode, e)
		var free api.RunBody
		resp = a.call(t, "POST", "/api/v1/services/slugify/runs", token, "", `{"input": {"text": "Free Run"}}`, &free)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "free run with no credits = %d %+v", resp.StatusCode, free)
		require.Equal(t, "free-run", free.Output["slug"], "free run with no credits = %d %+v", resp.StatusCode, free)

		var balance api.BalanceBody
		a.call(t, "GET", "/api/v1/balance", token, "", "", &balance)
		require.Equal(t, int64(0), balance.Balance, "balance = %d, want 0", balance.Balance)
		var journal struct {
			Entries []api.EntryBody `json:"entries"`
			Total   int             `json:"total"`
		}
		a.call(t, "GET", "/api/v1/journal?kind=consumption&service=word-count&sort=oldest", token, "", "", &journal)
		require.Equal(t, 2, journal.Total, "journal = %+v", journal)
		require.Equal(t, run.JournalID, journal.Entries[0].ID, "journal = %+v", journal)
		require.Equal(t, int64(1), journal.Entries[0].BalanceAfter, "journal = %+v", journal)
		for _, bad := range []string{"kind=gift", "from=yesterday", "page=0", "sort=random"} {
			e = apiErr{}
			resp := a.call(t, "GET", "/api/v1/journal?"+bad, token, "", "", &e)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "journal?%s = %d %+v, want 400 invalid_filter", bad, resp.StatusCode, e)
			assert.Equal(t, "invalid_filter", e.Error.Code, "journal?%s = %d %+v, want 400 invalid_filter", bad, resp.StatusCode, e)
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
		assert.Equal(t, tt.status, resp.StatusCode, "%s: %d %+v, want %d %s", tt.name, resp.StatusCode, e, tt.status, tt.code)
		assert.Equal(t, tt.code, e.Error.Code, "%s: %d %+v, want %d %s", tt.name, resp.StatusCode, e, tt.status, tt.code)
		assert.NotEqual(t, "", e.Error.Message, "%s: %d %+v, want %d %s", tt.name, resp.StatusCode, e, tt.status, tt.code)
	}
	b, _ := credits.New(a.db, a.clock).Balance(context.Background(), user)
	require.Equal(t, int64(5), b, "balance = %d after refused requests, want 5", b)
	var e apiErr
	resp := a.call(t, "GET", "/api/v1/nothing-here", token, "", "", &e)
	require.Equal(t, 404, resp.StatusCode, "unknown API path = %d %+v", resp.StatusCode, e)
	require.Equal(t, "not_found", e.Error.Code, "unknown API path = %d %+v", resp.StatusCode, e)
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
		resp := a.call(t, "GET", "/api/v1/runs/"+run.ID, bobToken, "", "", &e)
		require.Equal(t, 404, resp.StatusCode, "bob reading alice's run = %d %+v, want 404", resp.StatusCode, e)
		require.Equal(t, "not_found", e.Error.Code, "bob reading alice's run = %d %+v, want 404", resp.StatusCode, e)
		var journal struct{ Total int }
		a.call(t, "GET", "/api/v1/journal", bobToken, "", "", &journal)
		require.Equal(t, 0, journal.Total, "bob's journal lists %d entries, want none of alice's", journal.Total)
		var mine api.RunBody
		resp = a.call(t, "GET", "/api/v1/runs/"+run.ID, aliceToken, "", "", &mine)
		require.Equal(t, 200, resp.StatusCode, "alice reading her run = %d %+v", resp.StatusCode, mine)
		require.Equal(t, run.ID, mine.ID, "alice reading her run = %d %+v", resp.StatusCode, mine)

		for name, token := range map[string]string{
			"none": "", "wrong": "sk_abcdefgh_" + strings.Repeat("a", 26), "mangled": aliceToken + "x", "not ours": "ghp_123",
		} {
			e = apiErr{}
			resp := a.call(t, "GET", "/api/v1/balance", token, "", "", &e)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s key = %d %+v, want 401", name, resp.StatusCode, e)
			assert.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer"), "%s key = %d %+v, want 401", name, resp.StatusCode, e)
			assert.Contains(t, []string{"missing_api_key", "invalid_api_key"}, e.Error.Code, "%s key = %d %+v, want 401", name, resp.StatusCode, e)
		}
		keys := apikeys.New(a.db, a.clock)
		list, _ := keys.List(context.Background(), alice)
		require.NoError(t, keys.Revoke(context.Background(), alice, list[0].ID))
		e = apiErr{}
		resp = a.call(t, "GET", "/api/v1/balance", aliceToken, "", "", &e)
		require.Equal(t, 401, resp.StatusCode, "revoked key = %d %+v, want 401 invalid_api_key", resp.StatusCode, e)
		require.Equal(t, "invalid_api_key", e.Error.Code, "revoked key = %d %+v, want 401 invalid_api_key", resp.StatusCode, e)
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
	require.Equal(t, 200, resp.StatusCode, "openapi.json = %d, version %q", resp.StatusCode, doc.OpenAPI)
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."), "openapi.json = %d, version %q", resp.StatusCode, doc.OpenAPI)
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
		assert.True(t, documented[method+" "+path], "route %s is not in openapi.json", rt.pattern)
		delete(documented, method+" "+path)
	}
	require.GreaterOrEqual(t, served, 6, "found %d API routes in the route table, want at least 6", served)
	assert.Empty(t, documented, "openapi.json documents operations the route table does not serve")
}

func TestAPIOnBothDatabases(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			a := migratedApp(t, d)
			_, token := apiClientFor(t, a, "svc@example.com")
			var list struct{ Services []api.ServiceBody }
			a.call(t, "GET", "/api/v1/services", token, "", "", &list)
			require.Len(t, list.Services, 2, "services = %+v", list.Services)
			require.Equal(t, "slugify", list.Services[0].Name, "services = %+v", list.Services)
			require.True(t, list.Services[0].Free, "services = %+v", list.Services)
			require.Equal(t, int64(1), list.Services[1].Cost, "services = %+v", list.Services)
		})
	}
}
