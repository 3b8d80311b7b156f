package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
)

// Row 49: a display name is text anyone may choose, so no mail to an
// address not yet proven carries it: not the verification link (at sign-up
// or resent), not the reset link or the notice of a second sign-up for an
// unconfirmed account, not the confirmation sent to a new address.
func TestNoDisplayNameInMailToUnprovenAddresses(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		const spam = "URGENT: call +1 555 0100 now"
		c := a.client()
		signup := url.Values{"email": {"victim@example.com"}, "name": {spam}, "password": {goodPassword}}
		resp, body := c.post("/signup", signup)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "sign-up = %d:\n%s", resp.StatusCode, body)
		resp, _ = c.post("/signup", signup)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "second sign-up = %d", resp.StatusCode)
		resp, _ = c.post("/verify/resend", url.Values{"email": {"victim@example.com"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "resend = %d", resp.StatusCode)
		resp, _ = c.post("/password/reset", url.Values{"email": {"victim@example.com"}})
		require.Equal(t, http.StatusOK, resp.StatusCode, "reset = %d", resp.StatusCode)

		sender := signUp(t, a, "sender@example.com", spam)
		resp, _ = sender.post("/settings/email", url.Values{"email": {"other@example.com"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "email change = %d", resp.StatusCode)

		for addr, want := range map[string]int{"victim@example.com": 4, "other@example.com": 1} {
			msgs := a.mails(t, addr)
			require.Len(t, msgs, want, "mails to %s: %v", addr, msgs)
			for _, m := range msgs {
				assert.NotContains(t, m.Subject+"\n"+m.Text, spam, "mail %q to the unproven %s carries the display name", m.Subject, addr)
			}
		}
	})
}

// Row 50: fifty messages at once from one address store no more than the
// contact form's limit; the rest are refused with 429, Retry-After and the
// form saying why, with or without htmx; another address still gets through.
func TestContactFormIsLimitedPerAddress(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		var mu sync.Mutex
		var refusals []string
		counts := wave(func(i int) int {
			r := post("/contact", validForm())
			if i%2 == 1 {
				r = asHTMX(r)
			}
			r.RemoteAddr = "192.0.2.99:41000"
			resp, body := a.do(r)
			if resp.Header.Get("Retry-After") == "" {
				return resp.StatusCode
			}
			mu.Lock()
			refusals = append(refusals, body)
			mu.Unlock()
			// htmx swaps only 2xx answers: it gets its refusal as a 200
			// fragment, a browser without it a 429 page.
			want := http.StatusTooManyRequests
			if i%2 == 1 {
				want = http.StatusOK
			}
			assert.Equal(t, want, resp.StatusCode, "a refused message (htmx: %v)", i%2 == 1)
			return http.StatusTooManyRequests
		})
		limit := contactPerIP.Limit
		stored := countMessages(t, a.db)
		require.Equal(t, limit, stored, "%d messages sent at once from one address stored %d (answers %v), want the limit", guesses, stored, counts)
		require.Equal(t, guesses-limit, counts[http.StatusTooManyRequests], "answers to %d messages at once: %v", guesses, counts)
		require.Len(t, refusals, guesses-limit, "refusals with a Retry-After")
		for _, body := range refusals {
			require.Contains(t, body, "Too many attempts", "a refused message does not say why")
		}
		r := post("/contact", validForm())
		r.RemoteAddr = "198.51.100.3:41000"
		resp, _ := a.do(r)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "a message from another address = %d", resp.StatusCode)
	})
}

// Row 50: fifty sign-ups at once for one address, from fifty client
// addresses, mail its owner no more than the per-address limit of "someone
// tried to sign up" notices.
func TestSignupIsLimitedPerAddress(t *testing.T) {
	forDialects(t, func(t *testing.T, a *app) {
		signUp(t, a, "owner@example.com", "Owner")
		a.clock.Advance(accounts.SignupPerAddress.Window) // the owner's own sign-up no longer counts
		before := len(a.mails(t, "owner@example.com"))
		counts := wave(func(i int) int {
			c := a.client()
			c.ip = fmt.Sprintf("198.51.100.%d", i+1)
			resp, _ := c.post("/signup", url.Values{"email": {"owner@example.com"}, "name": {"Someone"}, "password": {goodPassword}})
			return resp.StatusCode
		})
		limit := accounts.SignupPerAddress.Limit
		notices := len(a.mails(t, "owner@example.com")) - before
		require.Equal(t, limit, notices, "%d sign-ups at once for one address mailed its owner %d times (answers %v), want the limit", guesses, notices, counts)
		require.Equal(t, map[int]int{http.StatusSeeOther: limit, http.StatusTooManyRequests: guesses - limit}, counts, "answers to %d sign-ups at once for one address", guesses)
	})
}
