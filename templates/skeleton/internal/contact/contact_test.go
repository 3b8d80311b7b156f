package contact_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestValidate(t *testing.T) {
	ok := contact.Message{Name: "Ada", Email: "ada@example.com", Body: "Hello there, a question."}
	tests := []struct {
		name   string
		change func(*contact.Message)
		field  string // "" means valid
	}{
		{"valid", func(*contact.Message) {}, ""},
		{"unicode name", func(m *contact.Message) { m.Name = "Zoë Ångström 李" }, ""},
		{"no name", func(m *contact.Message) { m.Name = "" }, "name"},
		{"long name", func(m *contact.Message) { m.Name = strings.Repeat("é", contact.MaxNameLength+1) }, "name"},
		{"name with newline", func(m *contact.Message) { m.Name = "Ada\r\nBcc: x@example.com" }, "name"},
		{"no email", func(m *contact.Message) { m.Email = "" }, "email"},
		{"not an email", func(m *contact.Message) { m.Email = "ada" }, "email"},
		{"display name", func(m *contact.Message) { m.Email = "Ada <ada@example.com>" }, "email"},
		{"no dot in domain", func(m *contact.Message) { m.Email = "ada@localhost" }, "email"},
		{"header injection", func(m *contact.Message) { m.Email = "ada@example.com\nBcc: x@example.com" }, "email"},
		{"long email", func(m *contact.Message) { m.Email = strings.Repeat("a", 250) + "@example.com" }, "email"},
		{"no message", func(m *contact.Message) { m.Body = "" }, "message"},
		{"short message", func(m *contact.Message) { m.Body = "hi" }, "message"},
		{"long message", func(m *contact.Message) { m.Body = strings.Repeat("a", contact.MaxBodyLength+1) }, "message"},
		{"multi-line message", func(m *contact.Message) { m.Body = "line one\r\nline two" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.change(&m)
			problems := m.Validate()
			if tt.field == "" {
				require.Empty(t, problems, "problems = %v, want none", problems)
				return
			}
			require.Len(t, problems, 1, "problems = %v, want one for %q", problems, tt.field)
			require.NotEqual(t, "", problems[tt.field], "problems = %v, want one for %q", problems, tt.field)
		})
	}
}

func TestFromFormTrims(t *testing.T) {
	form := map[string]string{"name": "  Ada ", "email": " ada@example.com\t", "message": "\n Hello there \n"}
	m := contact.FromForm(func(k string) string { return form[k] })
	require.Equal(t, "Ada", m.Name, "FromForm = %+v", m)
	require.Equal(t, "ada@example.com", m.Email, "FromForm = %+v", m)
	require.Equal(t, "Hello there", m.Body, "FromForm = %+v", m)
}

func TestStore(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			store := contact.NewStore(dbtest.Open(t, dialect), clk)
			before := clk.Now()
			first := contact.Message{Name: "Ada", Email: "ada@example.com", Body: "First message, with 'quotes' and ?"}
			second := contact.Message{Name: "Zoë", Email: "zoe@example.com", Body: "Second: <b>not bold</b>\nline two"}
			for _, m := range []*contact.Message{&first, &second} {
				require.NoError(t, store.Create(ctx, m))
				require.NotEqual(t, 0, m.ID, "Create did not set ID and CreatedAt: %+v", m)
				require.True(t, m.CreatedAt.Equal(before), "Create did not set ID and CreatedAt: %+v", m)
			}
			got, err := store.Recent(ctx, 10)
			require.NoError(t, err)
			require.Len(t, got, 2, "Recent = %+v, want second then first", got)
			require.Equal(t, second.ID, got[0].ID, "Recent = %+v, want second then first", got)
			require.Equal(t, first.ID, got[1].ID, "Recent = %+v, want second then first", got)
			require.Equal(t, second.Body, got[0].Body, "round trip changed the message: got %+v, want %+v", got[0], second)
			require.Equal(t, second.Name, got[0].Name, "round trip changed the message: got %+v, want %+v", got[0], second)
			require.True(t, got[0].CreatedAt.Equal(second.CreatedAt), "round trip changed the message: got %+v, want %+v", got[0], second)
			limited, err := store.Recent(ctx, 1)
			require.NoError(t, err, "Recent(1) = %d messages, %v", len(limited), err)
			require.Len(t, limited, 1, "Recent(1) = %d messages, %v", len(limited), err)
		})
	}
}
