package web

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// probeApp is one app with the callers the bad-input probes need.
type probeApp struct {
	*app
	user, admin *client
	userID      string
	token       string
}

func newProbeApp(t *testing.T, dialect database.Dialect) *probeApp {
	a := httpsApp(t, dialect)
	p := &probeApp{app: a, user: signUp(t, a, "user@example.com", "User"), admin: makeAdmin(t, a, "admin@example.com")}
	u, err := a.acct.Users.ByEmail(t.Context(), "user@example.com")
	require.NoError(t, err)
	p.userID = u.ID
	_, p.token = apiClientFor(t, a, "api@example.com")
	return p
}

// probe is one bad input. Its path and form may name the target user as
// {user}, which each app fills in with its own id.
type probe struct {
	name   string
	as     string // "", "user", "admin" or "api"
	method string
	path   string
	form   url.Values
	body   string // JSON, for the API
	// names is the field, parameter or member the answer must name.
	names string
	// clamped marks a page number the list answers with its last or
	// first page rather than refuses.
	clamped bool
}

// send runs pr against p, each anonymous probe from an address of its
// own so that no rate limit answers in place of the check under test.
func (p *probeApp) send(t *testing.T, i int, pr probe) (*http.Response, string) {
	path := strings.ReplaceAll(pr.path, "{user}", p.userID)
	var r *http.Request
	switch {
	case pr.as == "api":
		r = httptest.NewRequest(pr.method, path, strings.NewReader(pr.body))
		r.Header.Set("Authorization", "Bearer "+p.token)
		r.Header.Set("Content-Type", "application/json")
		return p.do(r)
	case pr.method == http.MethodPost:
		r = post(path, pr.form)
	default:
		r = get(path)
	}
	c := map[string]*client{"user": p.user, "admin": p.admin}[pr.as]
	if c == nil {
		c = p.client()
		c.ip = fmt.Sprintf("198.51.%d.%d", i/250, i%250+1)
	}
	return c.do(r)
}

var (
	headingText = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)
	problemText = regexp.MustCompile(`(?s)(?:class="subtitle"|role="alert"|class="help is-danger")[^>]*>(.*?)</`)
)

// message is what an answer tells the user went wrong: the API's error,
// or the page's heading and problems.
func message(resp *http.Response, body string) string {
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var e apiErr
		if json.Unmarshal([]byte(body), &e) == nil && e.Error.Code != "" {
			return e.Error.Code + ": " + e.Error.Message
		}
		return "JSON answer"
	}
	var parts []string
	for _, re := range []*regexp.Regexp{headingText, problemText} {
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			parts = append(parts, html.UnescapeString(strings.Join(strings.Fields(m[1]), " ")))
		}
	}
	return strings.Join(parts, " | ")
}

const (
	nul     = "a\x00b"
	badUTF8 = "a\xffb"
)

// badInputProbes lists every kind of bad input the app receives: text
// PostgreSQL cannot store in each form field, query parameter, path and
// JSON field, and page numbers past any end on every paged list.
func badInputProbes() []probe {
	forms := []struct {
		as, path string
		fields   url.Values
	}{
		{"", "/signup", url.Values{"email": {"new@example.com"}, "name": {"New"}, "password": {goodPassword}}},
		{"", "/login", url.Values{"email": {"user@example.com"}, "password": {goodPassword}, "next": {"/dashboard"}}},
		{"", "/password/reset", url.Values{"email": {"user@example.com"}}},
		{"", "/password/reset/confirm", url.Values{"token": {"tok"}, "password": {goodPassword}}},
		{"", "/verify", url.Values{"token": {"tok"}}},
		{"", "/verify/resend", url.Values{"email": {"user@example.com"}}},
		{"", "/email/confirm", url.Values{"token": {"tok"}}},
		{"", "/contact", validForm()},
		{"", "/accounts/validate", url.Values{"field": {"email"}, "email": {"x@example.com"}}},
		{"user", "/reauthenticate", url.Values{"password": {goodPassword}, "next": {"/settings"}}},
		{"user", "/settings/profile", url.Values{"name": {"Renamed"}}},
		{"user", "/settings/email", url.Values{"email": {"other@example.com"}}},
		{"user", "/settings/password", url.Values{"current_password": {goodPassword}, "new_password": {goodPassword + "!"}}},
		{"user", "/settings/sessions", url.Values{"session": {"some-session"}}},
		{"user", "/settings/delete", url.Values{"confirm": {"DELETE"}, "password": {goodPassword}}},
		{"user", "/settings/api-keys", url.Values{"name": {"laptop"}}},
		{"user", "/credits/notices", url.Values{"threshold": {"5"}}},
		{"admin", "/admin/users/{user}/active", url.Values{"active": {"false"}}},
		{"admin", "/admin/users/{user}/role", url.Values{"role": {"admin"}}},
		{"admin", "/admin/users/{user}/delete", url.Values{"confirm": {"user@example.com"}}},
		{"admin", "/admin/users/{user}/credits", url.Values{"amount": {"5"}, "reason": {"goodwill"}}},
	}
	var probes []probe
	for _, f := range forms {
		for field := range f.fields {
			for _, bad := range []string{nul, badUTF8} {
				values := url.Values{}
				for k, v := range f.fields {
					values[k] = v
				}
				values.Set(field, bad)
				probes = append(probes, probe{name: fmt.Sprintf("POST %s %s=%q", f.path, field, bad), as: f.as, method: http.MethodPost, path: f.path, form: values, names: field})
			}
		}
	}
	for _, q := range []struct{ as, path, param string }{
		{"", "/verify", "token"},
		{"", "/password/reset/confirm", "token"},
		{"", "/email/confirm", "token"},
		{"", "/login", "next"},
		{"user", "/credits/history", "service"},
		{"user", "/credits/history.csv", "service"},
		{"user", "/credits", "service"},
		{"admin", "/admin/users", "q"},
		{"api", "/api/v1/journal", "service"},
	} {
		for _, bad := range []string{"%00", "%FF"} {
			probes = append(probes, probe{name: "GET " + q.path + " " + q.param + "=" + bad, as: q.as, method: http.MethodGet, path: q.path + "?" + q.param + "=" + bad, names: q.param})
		}
	}
	for _, p := range []struct{ as, method, path string }{
		{"admin", http.MethodGet, "/admin/users/%s"},
		{"admin", http.MethodGet, "/admin/users/%s/credits"},
		{"admin", http.MethodPost, "/admin/users/%s/active"},
		{"user", http.MethodPost, "/settings/api-keys/%s/revoke"},
		{"user", http.MethodPost, "/credits/services/%s/runs"},
		{"api", http.MethodGet, "/api/v1/runs/%s"},
		{"api", http.MethodPost, "/api/v1/services/%s/runs"},
	} {
		for _, bad := range []string{"a%00b", "a%FFb"} {
			path := fmt.Sprintf(p.path, bad)
			probes = append(probes, probe{name: p.method + " " + path, as: p.as, method: p.method, path: path, form: url.Values{"active": {"true"}}, body: "{}"})
		}
	}
	for body, names := range map[string]string{`{"input": {"text": "a\u0000b"}}`: "text", `{"input": {"a\u0000b": "text"}}`: "a\x00b", "{\"input\": {\"text\": \"a\xffb\"}}": ""} {
		probes = append(probes, probe{name: "API run " + body, as: "api", method: http.MethodPost, path: "/api/v1/services/word-count/runs", body: body, names: names})
	}
	for _, list := range []struct{ as, path string }{
		{"admin", "/admin/users"},
		{"user", "/credits/history"},
		{"api", "/api/v1/journal"},
	} {
		for _, page := range []string{"9223372036854775807", "4611686018427387904", "99999999999999999999", "-1", "-9223372036854775808", "0", "abc", "1.5"} {
			probes = append(probes, probe{name: "GET " + list.path + " page=" + page, as: list.as, method: http.MethodGet, path: list.path + "?page=" + page, clamped: true})
		}
		probes = append(probes, probe{name: "GET " + list.path + " per_page=9223372036854775807&page=3", as: list.as, method: http.MethodGet,
			path: list.path + "?per_page=9223372036854775807&page=3", clamped: true})
	}
	return probes
}

// Rows 41 and 42: bad input gets the same answer on SQLite and PostgreSQL,
// a 4xx naming the problem, never a database error.
func TestBadInputAnswersAlikeOnBothDatabases(t *testing.T) {
	apps := map[database.Dialect]*probeApp{}
	for _, dialect := range dbtest.Dialects {
		apps[dialect] = newProbeApp(t, dialect)
	}
	failures := map[database.Dialect]int{}
	probes := badInputProbes()
	for i, pr := range probes {
		type answer struct {
			status  int
			message string
		}
		got := map[database.Dialect]answer{}
		for _, dialect := range dbtest.Dialects {
			resp, body := apps[dialect].send(t, i, pr)
			got[dialect] = answer{resp.StatusCode, message(resp, body)}
			if resp.StatusCode >= 500 {
				failures[dialect]++
			}
			if pr.clamped {
				assert.Less(t, resp.StatusCode, 500, "%s on %s = %d: %s", pr.name, dialect, resp.StatusCode, got[dialect].message)
			} else {
				assert.True(t, resp.StatusCode >= 400 && resp.StatusCode < 500, "%s on %s = %d, want 4xx: %s", pr.name, dialect, resp.StatusCode, got[dialect].message)
			}
		}
		assert.Equal(t, got[database.SQLite], got[database.Postgres], "%s answers differently on SQLite and PostgreSQL", pr.name)
		if pr.names != "" {
			assert.Contains(t, got[database.SQLite].message, strconv.Quote(pr.names), "%s: the answer does not name %q", pr.name, pr.names)
		}
	}
	t.Logf("%d probes; answers of 500: %v", len(probes), failures)
}

// Row 43: the API reads exactly one JSON object: anything after it is
// refused and nothing runs.
func TestAPIRefusesDataAfterTheJSONBody(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		user, token := apiClientFor(t, a, "trailing@example.com")
		grant(t, a, user, 5)
		for i, body := range []string{
			`{"input": {"text": "x"}} junk`,
			`{"input": {"text": "x"}}{"input": {"text": "y"}}`,
			`{"input": {"text": "x"}} {}`,
			`{"input": {"text": "x"}} [`,
		} {
			var e apiErr
			resp := a.call(t, "POST", "/api/v1/services/word-count/runs", token, fmt.Sprintf("trail-%d", i), body, &e)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s = %d %+v, want 400 invalid_json", body, resp.StatusCode, e)
			assert.Equal(t, "invalid_json", e.Error.Code, "%s = %d %+v, want 400 invalid_json", body, resp.StatusCode, e)
		}
		var run map[string]any
		resp := a.call(t, "POST", "/api/v1/services/word-count/runs", token, "trail-ok", "{\"input\": {\"text\": \"x\"}}\n", &run)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "one object and a newline = %d %+v", resp.StatusCode, run)
		var balance struct{ Balance int64 }
		a.call(t, "GET", "/api/v1/balance", token, "", "", &balance)
		require.Equal(t, int64(4), balance.Balance, "balance = %d after four refused runs and one run, want 4", balance.Balance)
	})
}

// Row 43: an administrator's adjustment is a plain whole number, read as
// written: "+-5" is not a deduction of 5.
func TestAdminCreditAmountIsReadStrictly(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		signUp(t, a, "strict@example.com", "Strict")
		admin := makeAdmin(t, a, "boss-s@example.com")
		u, err := a.acct.Users.ByEmail(t.Context(), "strict@example.com")
		require.NoError(t, err)
		path := "/admin/users/" + u.ID + "/credits"
		for _, bad := range []string{"+-5", "-+5", "--5", "++5", "5.0", " 5", "5 ", "0", "-0", "+0", "1e3", "0x10", "5_000",
			"9223372036854775808", "-9223372036854775809", "1000000001", "-1000000001"} {
			resp, body := admin.post(path, url.Values{"amount": {bad}, "reason": {"test"}})
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "amount %q = %d, want 422", bad, resp.StatusCode)
			assert.Contains(t, message(resp, body), "Amount", "amount %q: the problem does not name the field: %s", bad, message(resp, body))
		}
		for _, good := range []string{"+7", "7", "-2"} {
			resp, body := admin.post(path, url.Values{"amount": {good}, "reason": {"test"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "amount %q = %d: %s", good, resp.StatusCode, message(resp, body))
		}
		b, err := a.deps.Credits.Ledger.Balance(t.Context(), u.ID)
		require.NoError(t, err)
		require.Equal(t, int64(12), b, "balance = %d after +7, 7 and -2 and refused amounts, want 12", b)
	})
}
