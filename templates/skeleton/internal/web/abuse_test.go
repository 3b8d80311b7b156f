package web

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Row 43: a display name is text anyone may choose, so no mail to an
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
