package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/htmx"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// contactPerIP bounds the messages one client address stores: a person
// writes once, perhaps again to add something; a flood from one address
// is stopped at 5 in 10 minutes, 30 an hour, while an office or a school
// behind one address keeps room for several people.
var contactPerIP = ratelimit.Rule{Name: "contact-ip", Limit: 5, Window: 10 * time.Minute}

// contactForm is what templates/partials/contact_form.html shows.
type contactForm struct {
	Fields   []form.Field
	Problems contact.Problems
	// Error is a problem with the whole form: a rate limit.
	Error string
}

func newContactField(name string, m contact.Message, problems contact.Problems) form.Field {
	f := form.Field{Name: name, Value: m.Value(name), Problem: problems[name]}
	switch name {
	case contact.FieldName:
		f.Label, f.Type, f.Autocomplete, f.MaxLength = "Your name", "text", "name", contact.MaxNameLength
	case contact.FieldEmail:
		f.Label, f.Type, f.Autocomplete, f.MaxLength = "Email address", "email", "email", contact.MaxEmailLength
	case contact.FieldMessage:
		f.Label, f.Multiline, f.MaxLength = "Message", true, contact.MaxBodyLength
		f.Help = fmt.Sprintf("Up to %d characters.", contact.MaxBodyLength)
	}
	return f
}

func newContactForm(m contact.Message, problems contact.Problems) contactForm {
	cf := contactForm{Problems: problems}
	for _, name := range contact.Fields {
		cf.Fields = append(cf.Fields, newContactField(name, m, problems))
	}
	return cf
}

func contactPage(cf contactForm) views.Page {
	return views.Page{
		Title:       "Contact",
		Description: "Send us a message; we answer within one working day.",
		Data:        cf,
	}
}

func handleContactForm(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Page(w, r, http.StatusOK, "contact", contactPage(newContactForm(contact.Message{}, nil)))
	})
}

// handleContactSubmit stores a valid message, at most contactPerIP per
// client address. htmx gets the form back with its problems, or a
// thank-you fragment; a browser without JavaScript gets the whole page
// with problems (422), or a redirect with a flash. A limited message is
// answered 429 with the form saying how long to wait.
func handleContactSubmit(logger *slog.Logger, p *response.Pages, contacts ContactStore, limiter *ratelimit.Limiter, trustProxy bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, contact.MaxFormBytes) {
			return
		}
		msg := contact.FromForm(r.PostForm.Get)
		problems := msg.Validate()
		if len(problems) > 0 {
			cf := newContactForm(msg, problems)
			if htmx.IsRequest(r) {
				p.Partial(w, r, http.StatusOK, "contact_form", cf)
				return
			}
			p.Page(w, r, http.StatusUnprocessableEntity, "contact", contactPage(cf))
			return
		}
		_, err := limiter.Take(r.Context(), ratelimit.Limit{Rule: contactPerIP, Key: clientIP(r, trustProxy)})
		var limit *ratelimit.ExceededError
		switch {
		case errors.As(err, &limit):
			retryAfter(w, limit.RetryAfter)
			cf := newContactForm(msg, nil)
			cf.Error = waitMessage(limit)
			if htmx.IsRequest(r) {
				// htmx swaps only 2xx answers: a 429 would leave the
				// visitor with a button that seems to do nothing.
				p.Partial(w, r, http.StatusOK, "contact_form", cf)
				return
			}
			p.Page(w, r, http.StatusTooManyRequests, "contact", contactPage(cf))
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		if err := contacts.Create(r.Context(), &msg); err != nil {
			p.Fail(w, r, err)
			return
		}
		// The id only: names and addresses are personal data and stay
		// out of the logs.
		logger.InfoContext(r.Context(), "contact message received", "contact_message_id", msg.ID)
		if htmx.IsRequest(r) {
			p.Partial(w, r, http.StatusOK, "contact_success", msg)
			return
		}
		p.Flash(w, views.Flash{
			Kind:    "success",
			Message: "Thank you, " + msg.Name + ". Your message has been sent; we will reply within one working day.",
		})
		http.Redirect(w, r, "/contact", http.StatusSeeOther)
	})
}

// handleContactValidate checks the one field htmx names in HX-Trigger-Name
// and returns the line under it: its problem, or else its help.
func handleContactValidate(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, contact.MaxFormBytes) {
			return
		}
		msg := contact.FromForm(r.PostForm.Get)
		name := htmx.TriggerName(r)
		if !slices.Contains(contact.Fields, name) {
			p.Error(w, r, http.StatusBadRequest)
			return
		}
		p.Partial(w, r, http.StatusOK, "field_feedback", newContactField(name, msg, msg.Validate()))
	})
}
