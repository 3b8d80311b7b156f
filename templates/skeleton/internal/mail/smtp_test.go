package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// mailpit is a real SMTP server with an HTTP API, started for a test from
// MAILPIT_BIN or the mailpit on $PATH. Missing, the test is skipped,
// unless REQUIRE_MAILPIT=1 makes that a failure. Install it with
// go install github.com/axllent/mailpit@v1.33.1.
type mailpit struct {
	bin, dir   string
	smtp, http int
	cmd        *exec.Cmd
	exited     chan error
}

func startMailpit(t *testing.T) *mailpit {
	t.Helper()
	bin := os.Getenv("MAILPIT_BIN")
	if bin == "" {
		bin, _ = exec.LookPath("mailpit")
	}
	if bin == "" {
		const msg = "mailpit not found (set MAILPIT_BIN or put mailpit on $PATH; go install github.com/axllent/mailpit@v1.33.1)"
		if os.Getenv("REQUIRE_MAILPIT") == "1" {
			t.Fatal("REQUIRE_MAILPIT=1: " + msg)
		}
		t.Skip(msg)
	}
	m := &mailpit{bin: bin, dir: t.TempDir(), smtp: freePort(t), http: freePort(t)}
	m.start(t)
	t.Cleanup(m.stop)
	return m
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (m *mailpit) start(t *testing.T) {
	t.Helper()
	m.cmd = exec.Command(m.bin, "--listen", "127.0.0.1:"+strconv.Itoa(m.http), "--smtp", "127.0.0.1:"+strconv.Itoa(m.smtp),
		"--database", filepath.Join(m.dir, "mailpit.db"))
	log, err := os.Create(filepath.Join(m.dir, "mailpit.log"))
	if err != nil {
		t.Fatal(err)
	}
	m.cmd.Stdout, m.cmd.Stderr = log, log
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	m.exited = make(chan error, 1)
	go func() { m.exited <- m.cmd.Wait(); log.Close() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := m.messages(); err == nil {
			if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(m.smtp)); err == nil {
				c.Close()
				return
			}
		}
		select {
		case err := <-m.exited:
			out, _ := os.ReadFile(filepath.Join(m.dir, "mailpit.log"))
			t.Fatalf("mailpit exited at start: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("mailpit did not answer within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m *mailpit) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.exited
	m.cmd = nil
}

type mailpitMessage struct {
	Subject string
	To      []struct{ Address string }
}

func (m *mailpit) messages() ([]mailpitMessage, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/messages?limit=500", m.http))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Total    int
		Messages []mailpitMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	return body.Messages, nil
}

func (m *mailpit) subjects(t *testing.T) []string {
	t.Helper()
	msgs, err := m.messages()
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, msg := range msgs {
		s = append(s, msg.Subject)
	}
	sort.Strings(s)
	return s
}

// The SMTP backend against a real server, through an outage: what is
// queued while the server is down arrives once it is back, none twice.
func TestSMTPDeliveryThroughAnOutage(t *testing.T) {
	mp := startMailpit(t)
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	c := clock.NewFake(time.Now().UTC())
	o := NewOutbox(db, c)
	sender, err := NewSMTPSender(SMTPConfig{Host: "127.0.0.1", Port: mp.smtp, TLS: TLSNone, From: "Acme <hello@acme.example>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorker(o, sender, quiet())
	send := func(subject string) {
		t.Helper()
		if err := o.Enqueue(ctx, db, Message{To: "ada@example.com", Subject: subject, Text: "plain", HTML: "<p>html</p>"}); err != nil {
			t.Fatal(err)
		}
	}

	send("before 1")
	send("before 2")
	if sent, err := w.Drain(ctx); err != nil || sent != 2 {
		t.Fatalf("drain = %d, %v; want 2", sent, err)
	}
	if got := mp.subjects(t); fmt.Sprint(got) != "[before 1 before 2]" {
		t.Fatalf("mailpit holds %v", got)
	}

	mp.stop()
	for i := range 3 {
		send(fmt.Sprintf("during %d", i))
	}
	for range 3 {
		if sent, _ := w.Drain(ctx); sent != 0 {
			t.Fatal("sent while the server was down")
		}
		c.Advance(time.Hour)
	}
	queued, _ := o.Recent(ctx, 10)
	if queued[0].LastError == "" || queued[0].Status() != "pending" {
		t.Fatalf("during the outage the newest message is %s with error %q", queued[0].Status(), queued[0].LastError)
	}

	mp.start(t)
	for range 5 {
		c.Advance(time.Hour)
		if _, err := w.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := mp.subjects(t); fmt.Sprint(got) != "[before 1 before 2 during 0 during 1 during 2]" {
		t.Fatalf("after the outage mailpit holds %v, want each message once", got)
	}
	msgs, _ := mp.messages()
	if len(msgs[0].To) != 1 || msgs[0].To[0].Address != "ada@example.com" {
		t.Fatalf("recipient = %+v", msgs[0].To)
	}
}
