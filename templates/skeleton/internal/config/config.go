// Package config reads the application's settings from the environment and
// refuses values that would make it run badly or insecurely. Every error
// names the variable and says how to fix it.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Env is the environment the application runs in.
type Env string

const (
	Development Env = "development"
	Production  Env = "production"
)

// minSecretKeyLength is 32 characters: 128 bits of hex, the least that
// keeps signed cookies unforgeable.
const minSecretKeyLength = 32

// placeholderSecretKeys are values from examples and tutorials that must
// never sign anything in production.
var placeholderSecretKeys = map[string]bool{
	"change-me": true, "changeme": true, "secret": true, "dev": true,
	"development": true, "insecure": true, "replace-me": true,
}

// Config holds every setting the application reads at start.
type Config struct {
	Env               Env
	HTTPAddr          string
	BaseURL           *url.URL
	DatabaseURL       Secret
	SecretKey         Secret
	LogLevel          slog.Level
	LogFormat         string
	TrustProxyHeaders bool
	Email             Email
	// SecretKeyGenerated is true when SECRET_KEY was unset in development
	// and a random key was made for this run: signed cookies will not
	// survive a restart.
	SecretKeyGenerated bool
}

// Email says how transactional email leaves the application.
type Email struct {
	// Backend is "file" (each message an .eml file in FileDir, the
	// development default) or "smtp".
	Backend      string
	From         string
	FileDir      string
	SMTPHost     string
	SMTPPort     int
	SMTPUsername string
	SMTPPassword Secret
	// SMTPTLS is starttls (required), implicit (TLS from the start, port
	// 465), opportunistic or none (a local mail catcher only).
	SMTPTLS string
}

// Secret is a setting that must never reach a log line or an error.
type Secret string

// String hides the value from fmt.
func (Secret) String() string { return "[redacted]" }

// GoString hides the value from %#v.
func (Secret) GoString() string { return `"[redacted]"` }

// LogValue hides the value from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Reveal returns the value itself, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// Load reads the configuration through getenv (os.Getenv in production,
// a map in tests). It reports every problem at once.
func Load(getenv func(string) string) (Config, error) {
	var problems []error
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	get := func(name, fallback string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return fallback
	}

	cfg := Config{Env: Env(get("APP_ENV", string(Development)))}
	if cfg.Env != Development && cfg.Env != Production {
		problem("APP_ENV is %q: set it to development or production", cfg.Env)
	}

	cfg.HTTPAddr = get("HTTP_ADDR", ":8000")
	if _, port, err := net.SplitHostPort(cfg.HTTPAddr); err != nil || port == "" {
		problem("HTTP_ADDR is %q: use host:port or :port, e.g. :8000 or 127.0.0.1:8000", cfg.HTTPAddr)
	}

	baseURL := strings.TrimSuffix(get("BASE_URL", "http://localhost:8000"), "/")
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		problem("BASE_URL is %q: use the public address of the site, e.g. https://example.com", baseURL)
	} else {
		cfg.BaseURL = u
	}

	cfg.DatabaseURL = Secret(get("DATABASE_URL", "sqlite:data/app.db"))
	if _, _, err := database.ParseURL(cfg.DatabaseURL.Reveal()); err != nil {
		problems = append(problems, err)
	}

	cfg.SecretKey = Secret(get("SECRET_KEY", ""))
	switch key := cfg.SecretKey.Reveal(); {
	case key == "" && cfg.Env == Production:
		problem("SECRET_KEY is not set: production needs a random key, e.g. the output of `openssl rand -hex 32`")
	case placeholderSecretKeys[strings.ToLower(key)] && cfg.Env == Production:
		problem("SECRET_KEY is a placeholder value: replace it with a random key, e.g. the output of `openssl rand -hex 32`")
	case key == "":
		cfg.SecretKey, cfg.SecretKeyGenerated = randomKey(), true
	case len(key) < minSecretKeyLength && !placeholderSecretKeys[strings.ToLower(key)]:
		problem("SECRET_KEY is %d characters long: use at least %d random characters, e.g. the output of `openssl rand -hex 32`", len(key), minSecretKeyLength)
	case cfg.Env == Production && estimatedBits(key) < minSecretKeyBits:
		problem("SECRET_KEY looks made by hand (about %.0f bits of entropy, production needs %d): replace it with a random key, e.g. the output of `openssl rand -hex 32`", estimatedBits(key), minSecretKeyBits)
	}

	if err := cfg.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL", "info"))); err != nil {
		problem("LOG_LEVEL is %q: use debug, info, warn or error", getenv("LOG_LEVEL"))
	}

	defaultFormat := "text"
	if cfg.Env == Production {
		defaultFormat = "json"
	}
	cfg.LogFormat = strings.ToLower(get("LOG_FORMAT", defaultFormat))
	if cfg.LogFormat != "json" && cfg.LogFormat != "text" {
		problem("LOG_FORMAT is %q: use json or text", cfg.LogFormat)
	}

	trust := get("TRUST_PROXY_HEADERS", "false")
	if cfg.TrustProxyHeaders, err = strconv.ParseBool(trust); err != nil {
		problem("TRUST_PROXY_HEADERS is %q: use true (behind a reverse proxy that sets X-Forwarded-Proto) or false", trust)
	}

	cfg.Email, problems = loadEmail(get, cfg.Env, problems)

	if len(problems) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(problems...))
	}
	return cfg, nil
}

// LogValue lists the settings for the start-up log line, secrets hidden.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("env", string(c.Env)),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("base_url", c.BaseURL.String()),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.Bool("trust_proxy_headers", c.TrustProxyHeaders),
		slog.String("email_backend", c.Email.Backend),
	)
}

func loadEmail(get func(name, fallback string) string, env Env, problems []error) (Email, []error) {
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	defaultBackend := "file"
	if env == Production {
		defaultBackend = "smtp"
	}
	e := Email{
		Backend:      strings.ToLower(get("EMAIL_BACKEND", defaultBackend)),
		From:         get("EMAIL_FROM", ""),
		FileDir:      get("EMAIL_FILE_DIR", "data/mail"),
		SMTPHost:     get("SMTP_HOST", ""),
		SMTPUsername: get("SMTP_USERNAME", ""),
		SMTPPassword: Secret(get("SMTP_PASSWORD", "")),
		SMTPTLS:      strings.ToLower(get("SMTP_TLS", "starttls")),
	}
	if e.From == "" {
		if env == Production {
			problem("EMAIL_FROM is not set: production sends email from a real address, e.g. EMAIL_FROM=\"Acme <hello@acme.example>\"")
		}
		e.From = "noreply@localhost"
	} else if addr, err := mail.ParseAddress(e.From); err != nil || strings.ContainsAny(e.From, "\r\n") {
		problem("EMAIL_FROM is %q: use an address, e.g. hello@example.com or \"Acme <hello@example.com>\"", e.From)
	} else {
		e.From = addr.String()
	}
	switch e.Backend {
	case "file":
	case "smtp":
		if e.SMTPHost == "" {
			problem("SMTP_HOST is not set: EMAIL_BACKEND=smtp needs the mail server's host name (or set EMAIL_BACKEND=file to write emails to EMAIL_FILE_DIR)")
		}
		port := get("SMTP_PORT", "587")
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			problem("SMTP_PORT is %q: use the mail server's port, e.g. 587 (STARTTLS) or 465 (implicit TLS)", port)
		}
		e.SMTPPort = n
		switch e.SMTPTLS {
		case "starttls", "implicit", "opportunistic":
		case "none":
			if env == Production {
				problem("SMTP_TLS is none in production: passwords and links would cross the network in clear; use starttls or implicit")
			}
		default:
			problem("SMTP_TLS is %q: use starttls, implicit, opportunistic or none", e.SMTPTLS)
		}
		if (e.SMTPUsername == "") != (e.SMTPPassword == "") {
			problem("SMTP_USERNAME and SMTP_PASSWORD must be set together (or both left empty for a server without login)")
		}
	default:
		problem("EMAIL_BACKEND is %q: use smtp or file", e.Backend)
	}
	return e, problems
}

func randomKey() Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return Secret(hex.EncodeToString(b))
}
