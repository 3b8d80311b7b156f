package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// guesses is how many requests a wave sends at once: ten times the
// strictest limit it meets.
const guesses = 50

// wave sends guesses requests at once (every goroutine waits for one
// start signal) and counts the answers by status code.
func wave(send func(i int) int) map[int]int {
	start := make(chan struct{})
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Go(func() {
			<-start
			status := send(i)
			mu.Lock()
			counts[status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return counts
}

// clone is another tab of the same browser: the same cookies, its own jar.
func (c *client) clone() *client {
	return &client{app: c.app, cookies: maps.Clone(c.cookies), ip: c.ip}
}

// countingHasher gives the app's accounts a fresh hasher, whose
// Computations count the passwords checked from then on.
func countingHasher(a *app) *accounts.Hasher {
	h := accounts.NewHasher(fastParams)
	a.acct.Users.SetHasher(h)
	return h
}

// Row 47: fifty guesses at one account at once, from fifty addresses, get
// no more wrong-password answers than the account's limit, and a refused
// guess computes no hash. The right password among them signs in only if
// it came while the limit had room; once the wave has used it up, the
// right password is refused too. Fifty guesses from one address at fifty
// accounts meet the address's limit the same way.
func TestConcurrentLoginGuessesAreLimited(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		signUp(t, a, "target@example.com", "Target")
		hasher := countingHasher(a)
		limit := accounts.LoginFailuresPerAccount.Limit
		counts := wave(func(i int) int {
			c := a.client()
			c.ip = fmt.Sprintf("198.51.100.%d", i+1)
			password := "wrong password " + strconv.Itoa(i)
			if i == 29 {
				password = goodPassword
			}
			resp, _ := c.post("/login", url.Values{"email": {"target@example.com"}, "password": {password}})
			return resp.StatusCode
		})
		require.Equal(t, limit, counts[http.StatusUnauthorized], "answers to %d concurrent guesses: %v; want %d wrong-password answers (the limit), the rest 429", guesses, counts, limit)
		require.LessOrEqual(t, counts[http.StatusSeeOther], 1, "answers to %d concurrent guesses: %v", guesses, counts)
		require.Equal(t, guesses-limit-counts[http.StatusSeeOther], counts[http.StatusTooManyRequests], "answers to %d concurrent guesses: %v", guesses, counts)
		checked := int64(counts[http.StatusUnauthorized] + counts[http.StatusSeeOther])
		require.Equal(t, checked, hasher.Computations(), "%d guesses were answered after a check, but %d hashes ran: a refused guess must not hash", checked, hasher.Computations())

		c := a.client()
		c.ip = "203.0.113.9"
		resp, _ := c.post("/login", url.Values{"email": {"target@example.com"}, "password": {goodPassword}})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "right password after the wave = %d, want 429 and no session", resp.StatusCode)
		require.Equal(t, "", c.session(), "right password after the wave signed in")
		assert.NotEqual(t, "", resp.Header.Get("Retry-After"), "a limited login has no Retry-After")

		ipLimit := accounts.LoginFailuresPerIP.Limit
		counts = wave(func(i int) int {
			c := a.client()
			c.ip = "192.0.2.66"
			resp, _ := c.post("/login", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"whatever password"}})
			return resp.StatusCode
		})
		require.Equal(t, map[int]int{http.StatusUnauthorized: ipLimit, http.StatusTooManyRequests: guesses - ipLimit}, counts,
			"answers to %d concurrent guesses from one address", guesses)
	})
}

// Row 47: two instances of the application on one database share the
// limit: a wave split between them gets the limit's wrong-password
// answers in all, not the limit each.
func TestLoginLimitHoldsAcrossInstances(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			shared := dbtest.URL(t, dialect)
			one := newApp(t, dialect, options{db: dbtest.OpenURL(t, shared), baseURL: "https://example.com"})
			two := newApp(t, dialect, options{db: dbtest.OpenURL(t, shared), baseURL: "https://example.com"})
			signUp(t, one, "target@example.com", "Target")
			counts := wave(func(i int) int {
				instance := one
				if i%2 == 1 {
					instance = two
				}
				c := instance.client()
				c.ip = fmt.Sprintf("198.51.100.%d", i+1)
				resp, _ := c.post("/login", url.Values{"email": {"target@example.com"}, "password": {"wrong password " + strconv.Itoa(i)}})
				return resp.StatusCode
			})
			limit := accounts.LoginFailuresPerAccount.Limit
			require.Equal(t, map[int]int{http.StatusUnauthorized: limit, http.StatusTooManyRequests: guesses - limit}, counts,
				"answers to %d concurrent guesses split between two instances", guesses)
		})
	}
}

// Row 48: fifty wrong passwords at once on the reauthentication page get
// no more wrong-password answers than the user's limit, then even the
// right password waits.
func TestConcurrentReauthGuessesAreLimited(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		user := signUp(t, a, "reauth@example.com", "Reauth")
		hasher := countingHasher(a)
		limit := accounts.ReauthFailuresPerUser.Limit
		counts := wave(func(i int) int {
			resp, _ := user.clone().post("/reauthenticate", url.Values{"password": {"wrong password " + strconv.Itoa(i)}})
			return resp.StatusCode
		})
		require.Equal(t, map[int]int{http.StatusUnauthorized: limit, http.StatusTooManyRequests: guesses - limit}, counts,
			"answers to %d concurrent reauthentication guesses", guesses)
		require.Equal(t, int64(limit), hasher.Computations(), "hashes run for %d concurrent reauthentication guesses", guesses)
		resp, _ := user.post("/reauthenticate", url.Values{"password": {goodPassword}})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "right password after the wave = %d, want 429", resp.StatusCode)
		assert.NotEqual(t, "", resp.Header.Get("Retry-After"), "a limited reauthentication has no Retry-After")
	})
}

// Row 48: the current-password check of a password change counts its
// failures against the same limit as reauthentication, so a stolen fresh
// session cannot guess there instead.
func TestConcurrentCurrentPasswordGuessesAreLimited(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		user := signUp(t, a, "change@example.com", "Change")
		hasher := countingHasher(a)
		limit := accounts.ReauthFailuresPerUser.Limit
		counts := wave(func(i int) int {
			resp, _ := user.clone().post("/settings/password", url.Values{
				"current_password": {"wrong password " + strconv.Itoa(i)}, "new_password": {"a brand new passphrase 77"}})
			return resp.StatusCode
		})
		require.Equal(t, map[int]int{http.StatusUnprocessableEntity: limit, http.StatusTooManyRequests: guesses - limit}, counts,
			"answers to %d concurrent current-password guesses", guesses)
		require.Equal(t, int64(limit), hasher.Computations(), "hashes run for %d concurrent current-password guesses", guesses)
		resp, body := user.post("/settings/password", url.Values{"current_password": {goodPassword}, "new_password": {"a brand new passphrase 77"}})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "right current password after the wave = %d, want 429", resp.StatusCode)
		assert.Contains(t, body, "Too many attempts", "the limited password change does not say why")
		assert.NotEqual(t, "", resp.Header.Get("Retry-After"), "a limited password change has no Retry-After")
		resp, _ = user.post("/reauthenticate", url.Values{"password": {goodPassword}})
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "reauthentication after the wave = %d, want 429: the limit is shared", resp.StatusCode)
	})
}
