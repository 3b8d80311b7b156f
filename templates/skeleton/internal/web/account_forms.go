package web

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// The fields and page shapes of the account forms: sign-up, log-in,
// reset, settings.

func emailField(value, problem string) form.Field {
	return form.Field{Name: "email", Label: "Email address", Type: "email", Autocomplete: "email", Value: value, Problem: problem,
		MaxLength: accounts.MaxEmailLength}
}

func nameField(value, problem string) form.Field {
	return form.Field{Name: "name", Label: "Your name", Type: "text", Autocomplete: "name", Value: value, Problem: problem,
		MaxLength: accounts.MaxNameLength, Help: "How we greet you. You can change it later."}
}

// newPasswordField never echoes the value back: a password is not kept in
// a page that might be cached or shared.
func newPasswordField(name, label, problem string) form.Field {
	return form.Field{Name: name, Label: label, Type: "password", Autocomplete: "new-password", Problem: problem,
		MinLength: accounts.MinPasswordLength, MaxLength: accounts.MaxPasswordLength * 4, Validate: "/accounts/validate",
		Help: "At least 12 characters. A few unrelated words make a strong password that is easy to remember."}
}

func currentPasswordField(name, label, problem string) form.Field {
	return form.Field{Name: name, Label: label, Type: "password", Autocomplete: "current-password", Problem: problem,
		MaxLength: accounts.MaxPasswordLength * 4}
}

// authPage is what templates/accounts/form.html shows: a heading, a
// lead paragraph, one form and links below it.
type authPage struct {
	Heading string
	Lead    string
	Form    form.Form
	Links   []link
}

// messagePage is what templates/accounts/message.html shows: the outcome
// of an action and where to go next.
type messagePage struct {
	Kind    string // success, info, warning or danger
	Heading string
	Lines   []string
	Links   []link
	// Form is an optional one-button form (confirm a link, resend).
	Form *form.Form
}

type link struct {
	Href  string
	Label string
}

// rateLimited answers 429 with Retry-After and the form, saying when to
// try again.
func rateLimited(w http.ResponseWriter, r *http.Request, p *response.Pages, title string, ap authPage, limit *accounts.LimitedError) {
	retryAfter(w, limit.RetryAfter)
	ap.Form.Error = waitMessage(limit)
	p.Page(w, r, http.StatusTooManyRequests, "accounts/form", views.Page{Title: title, Data: ap})
}

// waitMessage tells a limited user how long to wait.
func waitMessage(limit *accounts.LimitedError) string {
	return "Too many attempts. Wait " + humanWait(limit.RetryAfter) + " and try again."
}

// retryAfter sets Retry-After in whole seconds, rounded up.
func retryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
}

func humanWait(d time.Duration) string {
	if m := int(math.Ceil(d.Minutes())); m > 1 {
		return strconv.Itoa(m) + " minutes"
	}
	return "a minute"
}
