package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
)

// maxAccountFormBytes bounds account forms: a few fields, one of them a
// password of at most 128 code points (512 bytes).
const maxAccountFormBytes = 16 << 10

// field is one input of an account form, as templates/partials/account_field.html
// shows it.
type field struct {
	Name         string
	Label        string
	Type         string
	Autocomplete string
	Value        string
	Problem      string
	Help         string
	MinLength    int
	MaxLength    int
	// Validate is the htmx endpoint that checks the field as it changes;
	// empty means no inline check.
	Validate string
}

// form is an account form: its fields, hidden values and what went wrong.
type form struct {
	Action string
	Submit string
	Fields []field
	Hidden map[string]string
	// Error is a problem with the whole form (wrong password, too many
	// attempts), shown above the fields.
	Error string
	// Notice is an explanation shown above the fields.
	Notice string
}

func emailField(value, problem string) field {
	return field{Name: "email", Label: "Email address", Type: "email", Autocomplete: "email", Value: value, Problem: problem,
		MaxLength: accounts.MaxEmailLength}
}

func nameField(value, problem string) field {
	return field{Name: "name", Label: "Your name", Type: "text", Autocomplete: "name", Value: value, Problem: problem,
		MaxLength: accounts.MaxNameLength, Help: "How we greet you. You can change it later."}
}

// newPasswordField never echoes the value back: a password is not kept in
// a page that might be cached or shared.
func newPasswordField(name, label, problem string) field {
	return field{Name: name, Label: label, Type: "password", Autocomplete: "new-password", Problem: problem,
		MinLength: accounts.MinPasswordLength, MaxLength: accounts.MaxPasswordLength * 4, Validate: "/accounts/validate",
		Help: "At least 12 characters. A few unrelated words make a strong password that is easy to remember."}
}

func currentPasswordField(name, label, problem string) field {
	return field{Name: name, Label: label, Type: "password", Autocomplete: "current-password", Problem: problem,
		MaxLength: accounts.MaxPasswordLength * 4}
}

// parseAccountForm reads a bounded form. On failure it has answered.
func parseAccountForm(w http.ResponseWriter, r *http.Request, p *pages) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxAccountFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			p.error(w, r, http.StatusRequestEntityTooLarge)
		} else {
			p.error(w, r, http.StatusBadRequest)
		}
		return false
	}
	return true
}

// errorText renders the styled error page with its own wording.
func (p *pages) errorText(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	data := errorPage{Status: status, Heading: heading, Message: message, RequestID: logging.RequestID(r.Context())}
	page := views.Page{Title: heading, Path: r.URL.Path, Data: data, Account: viewAccount(r)}
	w.Header().Set("Cache-Control", "no-store")
	if err := p.views.Page(w, status, "error", page); err != nil {
		p.logger.ErrorContext(r.Context(), "render error page", "status", status, "err", err)
		http.Error(w, http.StatusText(status), status)
	}
}

// authPage is what templates/accounts/form.html shows: a heading, a
// lead paragraph, one form and links below it.
type authPage struct {
	Heading string
	Lead    string
	Form    form
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
	Form *form
}

type link struct {
	Href  string
	Label string
}

// rateLimited answers 429 with Retry-After and the form, saying when to
// try again.
func (p *pages) rateLimited(w http.ResponseWriter, r *http.Request, title string, ap authPage, wait time.Duration) {
	tooMany(w, wait)
	ap.Form.Error = "Too many attempts. Wait " + humanWait(wait) + " and try again."
	p.page(w, r, http.StatusTooManyRequests, "accounts/form", views.Page{Title: title, Data: ap})
}

func humanWait(d time.Duration) string {
	if m := int(math.Ceil(d.Minutes())); m > 1 {
		return strconv.Itoa(m) + " minutes"
	}
	return "a minute"
}
