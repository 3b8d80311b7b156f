package mail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// build turns m into a MIME message: a plain-text body with an HTML
// alternative. go-mail encodes headers, so no value can add one.
func build(from, id string, m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("EMAIL_FROM %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient of email %s: %w", id, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetGenHeader("X-Outbox-Id", id)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// FileSender writes each message as <outbox id>.eml into a directory: the
// development backend, readable with any mail client. A message delivered
// twice overwrites its own file.
type FileSender struct {
	Dir  string
	From string
}

// Send writes m atomically: a reader never sees half a file.
func (f FileSender) Send(_ context.Context, id string, m Message) error {
	msg, err := build(f.From, id, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.Dir, 0o750); err != nil {
		return fmt.Errorf("create EMAIL_FILE_DIR %s: %w", f.Dir, err)
	}
	tmp, err := os.CreateTemp(f.Dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("write email into EMAIL_FILE_DIR %s: %w", f.Dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write email %s: %w", id, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write email %s: %w", id, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(f.Dir, id+".eml")); err != nil {
		return fmt.Errorf("write email %s: %w", id, err)
	}
	return nil
}

// TLS policies for SMTP_TLS.
const (
	TLSStartTLS      = "starttls"      // STARTTLS required
	TLSImplicit      = "implicit"      // TLS from the first byte (port 465)
	TLSOpportunistic = "opportunistic" // STARTTLS when offered
	TLSNone          = "none"          // plain text, for a local catcher only
)

// SMTPConfig describes the SMTP server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      string
	From     string
	Timeout  time.Duration
}

// SMTPSender delivers through an SMTP server, one connection a message.
type SMTPSender struct {
	cfg  SMTPConfig
	opts []gomail.Option
}

// NewSMTPSender checks cfg and returns a sender.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSLPort(false))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("SMTP_TLS is %q: use starttls, implicit, opportunistic or none", cfg.TLS)
	}
	// WithTLSPortPolicy and WithSSLPort pick a default port; the
	// configured one wins.
	opts = append(opts, gomail.WithPort(cfg.Port))
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	if _, err := gomail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("SMTP settings: %w", err)
	}
	return &SMTPSender{cfg: cfg, opts: opts}, nil
}

// Send delivers m.
func (s *SMTPSender) Send(ctx context.Context, id string, m Message) error {
	msg, err := build(s.cfg.From, id, m)
	if err != nil {
		return err
	}
	client, err := gomail.NewClient(s.cfg.Host, s.opts...)
	if err != nil {
		return fmt.Errorf("SMTP client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send email %s through %s:%d: %w", id, s.cfg.Host, s.cfg.Port, err)
	}
	return nil
}
