package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	stdmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// recorder is a Sender that keeps what it was given and can be made to
// fail, the way an SMTP server that is down fails.
type recorder struct {
	mu   sync.Mutex
	sent map[string]int // outbox id -> deliveries
	down atomic.Bool
}

func (r *recorder) Send(_ context.Context, id string, _ Message) error {
	if r.down.Load() {
		return errors.New("dial tcp 127.0.0.1:25: connection refused")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent == nil {
		r.sent = map[string]int{}
	}
	r.sent[id]++
	return nil
}

func (r *recorder) deliveries() (messages, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.sent {
		messages++
		total += n
	}
	return messages, total
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func enqueue(t *testing.T, o *Outbox, db *database.DB, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, o.Enqueue(context.Background(), db, Message{To: fmt.Sprintf("u%d@example.com", i), Subject: "Hello", Text: "Hi", HTML: "<p>Hi</p>"}))
	}
}

// An outage delays messages and loses none: they are retried with
// backoff and delivered once the server is back, each once.
func TestOutageRetriesWithBackoff(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, dialect)
			c := clock.NewFake(time.Now().UTC().Truncate(time.Second))
			o := NewOutbox(db, c)
			rec := &recorder{}
			w := NewWorker(o, rec, quiet())
			enqueue(t, o, db, 3)

			rec.down.Store(true)
			sent, err := w.Drain(ctx)
			require.NoError(t, err, "drain while down")
			require.Zero(t, sent, "drain while down")
			// The round stops at the first failure: the two untried
			// messages go as soon as the server is back, the failed one
			// only once its backoff has passed.
			rec.down.Store(false)
			c.Advance(Backoff(1) - time.Second)
			sent, err = w.Drain(ctx)
			require.NoError(t, err, "drain before the backoff")
			require.Equal(t, 2, sent, "drain before the backoff sends the 2 untried messages")
			c.Advance(time.Second)
			sent, err = w.Drain(ctx)
			require.NoError(t, err, "drain after the backoff")
			require.Equal(t, 1, sent, "drain after the backoff sends the failed message")
			sent, _ = w.Drain(ctx)
			require.Zero(t, sent, "a delivered message was sent again")
			messages, total := rec.deliveries()
			require.Equal(t, 3, messages, "messages delivered")
			require.Equal(t, 3, total, "sends")
			queued, err := o.Recent(ctx, 10)
			require.NoError(t, err)
			for _, q := range queued {
				assert.Equal(t, "sent", q.Status(), "message %d", q.ID)
			}
		})
	}
}

func TestBackoffGrowsAndGivesUp(t *testing.T) {
	require.Equal(t, 30*time.Second, Backoff(1))
	require.Equal(t, time.Minute, Backoff(2))
	require.Equal(t, 2*time.Minute, Backoff(3))
	require.Equal(t, time.Hour, Backoff(20))
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	c := clock.NewFake(time.Now().UTC())
	o := NewOutbox(db, c)
	rec := &recorder{}
	rec.down.Store(true)
	w := NewWorker(o, rec, quiet())
	w.MaxAttempts = 3
	enqueue(t, o, db, 1)
	for range 5 {
		w.Drain(ctx)
		c.Advance(time.Hour)
	}
	queued, _ := o.Recent(ctx, 1)
	q := queued[0]
	require.Equal(t, "failed", q.Status(), "after 3 failures")
	require.Equal(t, 3, q.Attempts, "after 3 failures")
	require.Contains(t, q.LastError, "connection refused", "after 3 failures")
}

// Two instances draining one outbox at once deliver each message once.
func TestConcurrentWorkersSendEachMessageOnce(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, dialect)
			o := NewOutbox(db, clock.System{})
			enqueue(t, o, db, 40)
			rec := &recorder{}
			var wg sync.WaitGroup
			for range 4 {
				w := NewWorker(NewOutbox(db, clock.System{}), rec, quiet())
				wg.Go(func() {
					_, err := w.Drain(ctx)
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			messages, total := rec.deliveries()
			require.Equal(t, 40, messages, "4 workers: messages delivered")
			require.Equal(t, 40, total, "4 workers: sends")
		})
	}
}

// A worker that dies mid-send frees its message when the lease ends.
func TestExpiredLeaseIsReclaimed(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	c := clock.NewFake(time.Now().UTC())
	o := NewOutbox(db, c)
	enqueue(t, o, db, 1)
	q, err := o.claim(ctx, 2*time.Minute)
	require.NoError(t, err)
	require.NotNil(t, q, "claim")
	q, _ = o.claim(ctx, 2*time.Minute)
	require.Nil(t, q, "a leased message was claimed twice")
	c.Advance(2*time.Minute + time.Second)
	q, _ = o.claim(ctx, 2*time.Minute)
	require.NotNil(t, q, "the message of a dead worker was never reclaimed")
}

func TestFileSenderWritesReadableEmail(t *testing.T) {
	dir := t.TempDir()
	f := FileSender{Dir: filepath.Join(dir, "mail"), From: `"Acme" <hello@acme.example>`}
	m := Message{To: "ada@example.com", Subject: "Confirm your address ünïcode", Text: "Open https://example.com/verify?token=abc_DEF-123 now.", HTML: "<p>Open</p>"}
	require.NoError(t, f.Send(context.Background(), "42", m))
	require.NoError(t, f.Send(context.Background(), "42", m)) // a retry overwrites
	entries, _ := os.ReadDir(f.Dir)
	require.Len(t, entries, 1, "the directory holds only 42.eml: %v", entries)
	require.Equal(t, "42.eml", entries[0].Name())
	raw, err := os.Open(filepath.Join(f.Dir, "42.eml"))
	require.NoError(t, err)
	defer raw.Close()
	msg, err := stdmail.ReadMessage(raw)
	require.NoError(t, err)
	subject, _ := new(mimeDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.Equal(t, "<ada@example.com>", msg.Header.Get("To"))
	require.Equal(t, m.Subject, subject)
	require.Contains(t, msg.Header.Get("From"), "hello@acme.example")
	require.True(t, strings.HasPrefix(msg.Header.Get("Content-Type"), "multipart/alternative"), "Content-Type = %q", msg.Header.Get("Content-Type"))
}

func TestHeaderInjectionRefused(t *testing.T) {
	f := FileSender{Dir: t.TempDir(), From: "hello@acme.example"}
	err := f.Send(context.Background(), "1", Message{To: "a@example.com\r\nBcc: victim@example.com", Subject: "x", Text: "x"})
	require.Error(t, err, "a recipient with CRLF was accepted")
}

func TestEveryTemplateComposesEscaped(t *testing.T) {
	c, err := NewComposer("Acme", "https://acme.example/")
	require.NoError(t, err)
	names := c.Names()
	for _, want := range []string{"verify", "welcome", "reset", "password_changed", "email_change_confirm", "email_change_notice", "email_changed", "account_deleted", "account_removed", "api_key_created", "signup_existing"} {
		assert.Contains(t, names, want, "email templates")
	}
	hostile := `<script>alert(1)</script>`
	for _, name := range names {
		m, err := c.Compose(name, "ada@example.com", Data{Name: hostile + "\r\nBcc: x@evil.example", Link: "https://acme.example/x?token=t", Email: hostile, Expires: "1 hour", Lines: []string{hostile}})
		require.NoError(t, err, name)
		assert.NotContains(t, m.HTML, "<script>", "%s: HTML part holds an unescaped value", name)
		assert.False(t, strings.ContainsAny(m.Subject, "\r\n"), "%s: subject %q is not one line", name, m.Subject)
		assert.NotEmpty(t, m.Subject, "%s: subject", name)
		assert.Contains(t, m.Text, "Acme", "%s: the shared layout", name)
		assert.Contains(t, m.HTML, "Acme", "%s: the shared layout", name)
		assert.Contains(t, m.Text, "https://acme.example", "%s: the shared layout", name)
	}
}

type mimeDecoder = mime.WordDecoder
