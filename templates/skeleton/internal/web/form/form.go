// Package form decodes HTML form submissions and describes the inputs a
// form template shows.
package form

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/quickscale/quickscale/templates/skeleton/internal/text"
)

// MaxBytes bounds an ordinary form: a few fields, one of them perhaps a
// password of at most 128 code points (512 bytes).
const MaxBytes = 16 << 10

// Field is one input, as templates/partials/account_field.html and
// contact_field.html show it.
type Field struct {
	Name         string
	Label        string
	Type         string
	Autocomplete string
	// Multiline makes a textarea.
	Multiline bool
	Value     string
	Problem   string
	Help      string
	MinLength int
	MaxLength int
	// Validate is the htmx endpoint that checks the field as it changes;
	// empty means no inline check.
	Validate string
}

// Check is one checkbox, shown after a form's fields.
type Check struct {
	Name    string
	Label   string
	Help    string
	Checked bool
}

// Form is one form: its fields, hidden values and what went wrong.
type Form struct {
	Action string
	Submit string
	Fields []Field
	Checks []Check
	Hidden map[string]string
	// Error is a problem with the whole form (wrong password, too many
	// attempts), shown above the fields.
	Error string
	// Notice is an explanation shown above the fields.
	Notice string
}

// ParseError is a form that could not be read; Status is the answer it
// calls for.
type ParseError struct {
	Status int
	// Field names the field whose text cannot be stored, if that is what
	// is wrong.
	Field string
	Err   error
}

func (e *ParseError) Error() string { return "read form: " + e.Err.Error() }

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads r's form, refusing a body over limit bytes: a larger one
// gives a ParseError with status 413, an unreadable one 400, and one with
// a field that no database can store (a NUL byte, bytes that are not
// UTF-8) 400 naming the field, before any handler passes it to SQL.
func Parse(w http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &ParseError{Status: http.StatusRequestEntityTooLarge, Err: err}
		}
		return &ParseError{Status: http.StatusBadRequest, Err: err}
	}
	if name := text.Unstorable(r.PostForm); name != "" {
		return &ParseError{Status: http.StatusBadRequest, Field: name, Err: fmt.Errorf("field %q holds a NUL byte or bytes that are not UTF-8", name)}
	}
	return nil
}
