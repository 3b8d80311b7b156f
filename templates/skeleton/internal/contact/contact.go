// Package contact holds the messages visitors send through the contact form:
// their validation and the contact_messages table.
package contact

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
)

// Field limits, in characters. MaxFormBytes bounds the whole submission so
// an abusive client cannot make the server read or store more.
const (
	MaxNameLength  = 100
	MaxEmailLength = 254
	MinBodyLength  = 10
	MaxBodyLength  = 5000
	MaxFormBytes   = 32 << 10
)

// The form's field names.
const (
	FieldName    = "name"
	FieldEmail   = "email"
	FieldMessage = "message"
)

const (
	problemRequired  = "This field is required."
	problemMultiline = "Use a single line."
)

// Fields lists the form's field names in the order they appear.
var Fields = []string{FieldName, FieldEmail, FieldMessage}

// Message is one message sent through the contact form.
type Message struct {
	ID        int64
	Name      string
	Email     string
	Body      string
	CreatedAt time.Time
}

// Problems maps a form field name to what is wrong with it.
type Problems map[string]string

// FromForm builds a message from the submitted form values.
func FromForm(get func(string) string) Message {
	return Message{
		Name:  strings.TrimSpace(get(FieldName)),
		Email: strings.TrimSpace(get(FieldEmail)),
		Body:  strings.TrimSpace(get(FieldMessage)),
	}
}

// Value returns the submitted value of a form field.
func (m Message) Value(field string) string {
	switch field {
	case FieldName:
		return m.Name
	case FieldEmail:
		return m.Email
	case FieldMessage:
		return m.Body
	}
	return ""
}

// Validate returns what is wrong with each field; an empty map means the
// message may be stored.
func (m Message) Validate() Problems {
	p := Problems{}
	switch n := utf8.RuneCountInString(m.Name); {
	case n == 0:
		p[FieldName] = problemRequired
	case n > MaxNameLength:
		p[FieldName] = fmt.Sprintf("Use at most %d characters.", MaxNameLength)
	case hasControl(m.Name):
		p[FieldName] = problemMultiline
	}
	switch {
	case m.Email == "":
		p[FieldEmail] = problemRequired
	case len(m.Email) > MaxEmailLength:
		p[FieldEmail] = fmt.Sprintf("Use at most %d characters.", MaxEmailLength)
	case hasControl(m.Email) || !mail.IsAddress(m.Email):
		p[FieldEmail] = "Enter an email address like name@example.com."
	}
	switch n := utf8.RuneCountInString(m.Body); {
	case n == 0:
		p[FieldMessage] = problemRequired
	case n < MinBodyLength:
		p[FieldMessage] = fmt.Sprintf("Write at least %d characters.", MinBodyLength)
	case n > MaxBodyLength:
		p[FieldMessage] = fmt.Sprintf("Use at most %d characters (this has %d).", MaxBodyLength, n)
	}
	return p
}

// hasControl reports control characters, which would let a value break a
// log line or an email header it is later written into.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// Store keeps contact messages in the contact_messages table; nothing else
// writes it.
type Store struct {
	db    *database.DB
	clock clock.Clock
}

// NewStore returns a store over db; clk dates each message.
func NewStore(db *database.DB, clk clock.Clock) *Store { return &Store{db: db, clock: clk} }

// Create stores m and sets its ID and CreatedAt.
func (s *Store) Create(ctx context.Context, m *Message) error {
	m.CreatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
	err := s.db.QueryRowContext(ctx,
		"INSERT INTO contact_messages (name, email, body, created_at) VALUES (?, ?, ?, ?) RETURNING id",
		m.Name, m.Email, m.Body, m.CreatedAt,
	).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("store contact message: %w", err)
	}
	return nil
}

// Recent returns up to limit messages, newest first.
func (s *Store) Recent(ctx context.Context, limit int) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT id, name, email, body, created_at FROM contact_messages ORDER BY created_at DESC, id DESC LIMIT ?",
		limit,
	)
	if err != nil {
		return nil, fmt.Errorf("list contact messages: %w", err)
	}
	defer rows.Close()
	var messages []Message
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.ID, &m.Name, &m.Email, &m.Body, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("list contact messages: %w", err)
		}
		messages = append(messages, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list contact messages: %w", err)
	}
	return messages, nil
}
