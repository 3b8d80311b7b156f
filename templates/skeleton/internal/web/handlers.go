package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
)

func handleHome(p *pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.page(w, r, http.StatusOK, "home", views.Page{
			Description: "Fast, secure, server-rendered web application.",
		})
	})
}

func handleAbout(p *pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.page(w, r, http.StatusOK, "about", views.Page{
			Title:       "About",
			Description: "Who we are and how the product is built.",
		})
	})
}

func handleNotFound(p *pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.error(w, r, http.StatusNotFound)
	})
}

// contactForm is what templates/partials/contact_form.html shows.
type contactForm struct {
	Fields   []formField
	Problems contact.Problems
}

// formField is one input of a form, with its value and problem.
type formField struct {
	Name         string
	Label        string
	Type         string
	Autocomplete string
	Multiline    bool
	MaxLength    int
	Value        string
	Problem      string
	Help         string
}

func newContactField(name string, m contact.Message, problems contact.Problems) formField {
	f := formField{Name: name, Value: m.Value(name), Problem: problems[name]}
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
	form := contactForm{Problems: problems}
	for _, name := range contact.Fields {
		form.Fields = append(form.Fields, newContactField(name, m, problems))
	}
	return form
}

func contactPage(form contactForm) views.Page {
	return views.Page{
		Title:       "Contact",
		Description: "Send us a message; we answer within one working day.",
		Data:        form,
	}
}

func handleContactForm(p *pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.page(w, r, http.StatusOK, "contact", contactPage(newContactForm(contact.Message{}, nil)))
	})
}

// parseContactForm reads a contact submission of at most
// contact.MaxFormBytes. On failure it has answered the request already.
func parseContactForm(w http.ResponseWriter, r *http.Request, p *pages) (contact.Message, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, contact.MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			p.error(w, r, http.StatusRequestEntityTooLarge)
		} else {
			p.error(w, r, http.StatusBadRequest)
		}
		return contact.Message{}, false
	}
	return contact.FromForm(r.PostForm.Get), true
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// handleContactSubmit stores a valid message. htmx gets the form back with
// its problems, or a thank-you fragment; a browser without JavaScript gets
// the whole page with problems (422), or a redirect with a flash.
func handleContactSubmit(logger *slog.Logger, p *pages, contacts ContactStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, ok := parseContactForm(w, r, p)
		if !ok {
			return
		}
		if problems := msg.Validate(); len(problems) > 0 {
			form := newContactForm(msg, problems)
			if isHTMX(r) {
				p.partial(w, r, http.StatusOK, "contact_form", form)
				return
			}
			p.page(w, r, http.StatusUnprocessableEntity, "contact", contactPage(form))
			return
		}
		if err := contacts.Create(r.Context(), &msg); err != nil {
			p.fail(w, r, err)
			return
		}
		// The id only: names and addresses are personal data and stay
		// out of the logs.
		logger.InfoContext(r.Context(), "contact message received", "contact_message_id", msg.ID)
		if isHTMX(r) {
			p.partial(w, r, http.StatusOK, "contact_success", msg)
			return
		}
		p.flash.set(w, r, views.Flash{
			Kind:    "success",
			Message: "Thank you, " + msg.Name + ". Your message has been sent; we will reply within one working day.",
		})
		http.Redirect(w, r, "/contact", http.StatusSeeOther)
	})
}

// handleContactValidate checks the one field htmx names in HX-Trigger-Name
// and returns the line under it: its problem, or else its help.
func handleContactValidate(p *pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, ok := parseContactForm(w, r, p)
		if !ok {
			return
		}
		name := r.Header.Get("HX-Trigger-Name")
		if !slices.Contains(contact.Fields, name) {
			p.error(w, r, http.StatusBadRequest)
			return
		}
		p.partial(w, r, http.StatusOK, "field_feedback", newContactField(name, msg, msg.Validate()))
	})
}
