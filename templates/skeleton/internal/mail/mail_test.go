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
		if err := o.Enqueue(context.Background(), db, Message{To: fmt.Sprintf("u%d@example.com", i), Subject: "Hello", Text: "Hi", HTML: "<p>Hi</p>"}); err != nil {
			t.Fatal(err)
		}
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
			if sent, err := w.Drain(ctx); err != nil || sent != 0 {
				t.Fatalf("drain while down = %d, %v", sent, err)
			}
			// The round stops at the first failure: the two untried
			// messages go as soon as the server is back, the failed one
			// only once its backoff has passed.
			rec.down.Store(false)
			c.Advance(Backoff(1) - time.Second)
			if sent, err := w.Drain(ctx); err != nil || sent != 2 {
				t.Fatalf("drain before the backoff = %d, %v; want the 2 untried messages", sent, err)
			}
			c.Advance(time.Second)
			if sent, err := w.Drain(ctx); err != nil || sent != 1 {
				t.Fatalf("drain after the backoff = %d, %v; want the failed message", sent, err)
			}
			if sent, _ := w.Drain(ctx); sent != 0 {
				t.Fatal("a delivered message was sent again")
			}
			if messages, total := rec.deliveries(); messages != 3 || total != 3 {
				t.Fatalf("deliveries: %d messages, %d sends; want 3 and 3", messages, total)
			}
			queued, err := o.Recent(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range queued {
				if q.Status() != "sent" {
					t.Errorf("message %d is %s", q.ID, q.Status())
				}
			}
		})
	}
}

func TestBackoffGrowsAndGivesUp(t *testing.T) {
	if Backoff(1) != 30*time.Second || Backoff(2) != time.Minute || Backoff(3) != 2*time.Minute || Backoff(20) != time.Hour {
		t.Fatalf("backoff = %s %s %s %s", Backoff(1), Backoff(2), Backoff(3), Backoff(20))
	}
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
	if q := queued[0]; q.Status() != "failed" || q.Attempts != 3 || !strings.Contains(q.LastError, "connection refused") {
		t.Fatalf("after 3 failures: %s, %d attempts, error %q", q.Status(), q.Attempts, q.LastError)
	}
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
					if _, err := w.Drain(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if messages, total := rec.deliveries(); messages != 40 || total != 40 {
				t.Fatalf("4 workers: %d messages, %d sends; want 40 and 40", messages, total)
			}
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
	if q, err := o.claim(ctx, 2*time.Minute); err != nil || q == nil {
		t.Fatalf("claim = %v, %v", q, err)
	}
	if q, _ := o.claim(ctx, 2*time.Minute); q != nil {
		t.Fatal("a leased message was claimed twice")
	}
	c.Advance(2*time.Minute + time.Second)
	if q, _ := o.claim(ctx, 2*time.Minute); q == nil {
		t.Fatal("the message of a dead worker was never reclaimed")
	}
}

func TestFileSenderWritesReadableEmail(t *testing.T) {
	dir := t.TempDir()
	f := FileSender{Dir: filepath.Join(dir, "mail"), From: `"Acme" <hello@acme.example>`}
	m := Message{To: "ada@example.com", Subject: "Confirm your address ünïcode", Text: "Open https://example.com/verify?token=abc_DEF-123 now.", HTML: "<p>Open</p>"}
	if err := f.Send(context.Background(), "42", m); err != nil {
		t.Fatal(err)
	}
	if err := f.Send(context.Background(), "42", m); err != nil { // a retry overwrites
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(f.Dir)
	if len(entries) != 1 || entries[0].Name() != "42.eml" {
		t.Fatalf("directory holds %v, want only 42.eml", entries)
	}
	raw, err := os.Open(filepath.Join(f.Dir, "42.eml"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	msg, err := stdmail.ReadMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mimeDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if msg.Header.Get("To") != "<ada@example.com>" || subject != m.Subject || !strings.Contains(msg.Header.Get("From"), "hello@acme.example") {
		t.Fatalf("headers: To %q, Subject %q, From %q", msg.Header.Get("To"), subject, msg.Header.Get("From"))
	}
	if !strings.HasPrefix(msg.Header.Get("Content-Type"), "multipart/alternative") {
		t.Fatalf("Content-Type = %q, want multipart/alternative", msg.Header.Get("Content-Type"))
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	f := FileSender{Dir: t.TempDir(), From: "hello@acme.example"}
	err := f.Send(context.Background(), "1", Message{To: "a@example.com\r\nBcc: victim@example.com", Subject: "x", Text: "x"})
	if err == nil {
		t.Fatal("a recipient with CRLF was accepted")
	}
}

func TestEveryTemplateComposesEscaped(t *testing.T) {
	c, err := NewComposer("Acme", "https://acme.example/")
	if err != nil {
		t.Fatal(err)
	}
	names := c.Names()
	for _, want := range []string{"verify", "welcome", "reset", "password_changed", "email_change_confirm", "email_change_notice", "email_changed", "account_deleted", "signup_existing"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("no %s email template", want)
		}
	}
	hostile := `<script>alert(1)</script>`
	for _, name := range names {
		m, err := c.Compose(name, "ada@example.com", Data{Name: hostile + "\r\nBcc: x@evil.example", Link: "https://acme.example/x?token=t", Email: hostile, Expires: "1 hour"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(m.HTML, "<script>") {
			t.Errorf("%s: HTML part holds an unescaped value", name)
		}
		if strings.ContainsAny(m.Subject, "\r\n") || m.Subject == "" {
			t.Errorf("%s: subject %q is not one line", name, m.Subject)
		}
		if !strings.Contains(m.Text, "Acme") || !strings.Contains(m.HTML, "Acme") || !strings.Contains(m.Text, "https://acme.example") {
			t.Errorf("%s: the shared layout is missing", name)
		}
	}
}

type mimeDecoder = mime.WordDecoder
