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

	"github.com/stretchr/testify/require"

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
			require.FailNow(t, "REQUIRE_MAILPIT=1: "+msg)
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
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (m *mailpit) start(t *testing.T) {
	t.Helper()
	m.cmd = exec.Command(m.bin, "--listen", "127.0.0.1:"+strconv.Itoa(m.http), "--smtp", "127.0.0.1:"+strconv.Itoa(m.smtp),
		"--database", filepath.Join(m.dir, "mailpit.db"))
	log, err := os.Create(filepath.Join(m.dir, "mailpit.log"))
	require.NoError(t, err)
	m.cmd.Stdout, m.cmd.Stderr = log, log
	require.NoError(t, m.cmd.Start(), "start mailpit")
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
			require.FailNow(t, "mailpit exited at start", "%v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "mailpit did not answer within 15s")
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
	require.NoError(t, err)
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
	require.NoError(t, err)
	w := NewWorker(o, sender, quiet())
	send := func(subject string) {
		t.Helper()
		require.NoError(t, o.Enqueue(ctx, db, Message{To: "ada@example.com", Subject: subject, Text: "plain", HTML: "<p>html</p>"}))
	}

	send("before 1")
	send("before 2")
	sent, err := w.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, sent, "drain")
	require.Equal(t, []string{"before 1", "before 2"}, mp.subjects(t), "mailpit holds")

	mp.stop()
	for i := range 3 {
		send(fmt.Sprintf("during %d", i))
	}
	for range 3 {
		sent, _ := w.Drain(ctx)
		require.Zero(t, sent, "sent while the server was down")
		c.Advance(time.Hour)
	}
	queued, _ := o.Recent(ctx, 10)
	require.NotEmpty(t, queued[0].LastError, "during the outage the newest message has an error")
	require.Equal(t, "pending", queued[0].Status(), "during the outage the newest message")

	mp.start(t)
	for range 5 {
		c.Advance(time.Hour)
		_, err := w.Drain(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, []string{"before 1", "before 2", "during 0", "during 1", "during 2"}, mp.subjects(t),
		"after the outage mailpit holds each message once")
	msgs, _ := mp.messages()
	require.Len(t, msgs[0].To, 1, "recipients: %+v", msgs[0].To)
	require.Equal(t, "ada@example.com", msgs[0].To[0].Address, "recipient")
}
