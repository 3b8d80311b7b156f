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
	"os"
	"path/filepath"
	"regexp"
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

// SourceDirs are the directories under SOURCE_DIR read in development:
// the templates, then the static files.
var SourceDirs = []string{"internal/views/templates", "internal/web/static"}

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
	Stripe            Stripe
	// SourceDir is SOURCE_DIR, the project's directory, development only:
	// templates and static files are read from it, reloaded when they
	// change, and open pages reload themselves. Empty: the embedded ones.
	SourceDir string
	Storage   Storage
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

// Stripe says whether and how the application takes payments through
// Stripe. With Enabled false it takes none: credits come only from
// administrators, and nothing else here is used.
type Stripe struct {
	Enabled        bool
	SecretKey      Secret
	PublishableKey string
	WebhookSecret  Secret
	// Currency is the ISO 4217 code, lower-case, of new credit packages.
	Currency string
	// Fake is STRIPE_FAKE=true: development without Stripe keys, through
	// the application's own checkout page (package devcheckout). It
	// turns payments on; the webhook secret is made for the run unless
	// set.
	Fake bool
}

// TestMode reports whether the keys are Stripe's test-mode keys, which
// move no real money.
func (s Stripe) TestMode() bool {
	return keyMode(s.SecretKey.Reveal()) == "test"
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

	cfg.SourceDir = get("SOURCE_DIR", "")
	switch {
	case cfg.SourceDir != "" && cfg.Env == Production:
		problem("SOURCE_DIR is set while APP_ENV is production: production serves the templates and static files built into the binary; remove SOURCE_DIR")
	case cfg.SourceDir != "":
		for _, dir := range SourceDirs {
			if info, err := os.Stat(filepath.Join(cfg.SourceDir, dir)); err != nil || !info.IsDir() {
				problem("SOURCE_DIR is %q, which has no %s: set it to the project's directory (SOURCE_DIR=. from there)", cfg.SourceDir, dir)
			}
		}
	}

	cfg.Email, problems = loadEmail(get, cfg.Env, problems)
	cfg.Stripe, problems = loadStripe(get, cfg.Env, cfg.BaseURL, problems)
	cfg.Storage, problems = loadStorage(get, cfg.Env, problems)

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
		slog.Bool("stripe_enabled", c.Stripe.Enabled),
		slog.Bool("stripe_test_mode", c.Stripe.Enabled && c.Stripe.TestMode()),
		slog.Bool("stripe_fake", c.Stripe.Fake),
		slog.String("source_dir", c.SourceDir),
		slog.String("storage_backend", c.Storage.Backend),
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

// currencyCode is an ISO 4217 code as Stripe writes it.
var currencyCode = regexp.MustCompile(`^[a-z]{3}$`)

func loadStripe(get func(name, fallback string) string, env Env, baseURL *url.URL, problems []error) (Stripe, []error) {
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	s := Stripe{
		SecretKey:      Secret(get("STRIPE_SECRET_KEY", "")),
		PublishableKey: get("STRIPE_PUBLISHABLE_KEY", ""),
		WebhookSecret:  Secret(get("STRIPE_WEBHOOK_SECRET", "")),
		Currency:       strings.ToLower(get("STRIPE_CURRENCY", "usd")),
	}
	enabled := get("STRIPE_ENABLED", "false")
	var err error
	if s.Enabled, err = strconv.ParseBool(enabled); err != nil {
		problem("STRIPE_ENABLED is %q: use true (take payments through Stripe) or false", enabled)
	}
	secret := s.SecretKey.Reveal()
	// A live key moves real money: a development machine or a test run
	// must never hold one, even with Stripe off.
	if env != Production && (keyMode(secret) == "live" || keyMode(s.PublishableKey) == "live") {
		problem("a live Stripe key (sk_live_, rk_live_ or pk_live_) is set while APP_ENV is %s: use your test-mode keys (sk_test_..., pk_test_...) outside production", env)
	}
	fake := get("STRIPE_FAKE", "false")
	if s.Fake, err = strconv.ParseBool(fake); err != nil {
		problem("STRIPE_FAKE is %q: use true (the development checkout that takes no money) or false", fake)
	}
	switch {
	case s.Fake:
		problems = checkFakeStripe(&s, env, baseURL, problems)
	case !s.Enabled:
		return s, problems
	default:
		problems = checkStripeKeys(s, problems)
	}
	switch webhook := s.WebhookSecret.Reveal(); {
	case webhook == "":
		problem("STRIPE_WEBHOOK_SECRET is not set: STRIPE_ENABLED=true needs the signing secret (whsec_...) of your webhook endpoint, shown when the endpoint is created (or by `stripe listen` in development)")
	case !strings.HasPrefix(webhook, "whsec_"):
		problem("STRIPE_WEBHOOK_SECRET does not look like a webhook signing secret: it starts with whsec_")
	}
	if !currencyCode.MatchString(s.Currency) {
		problem("STRIPE_CURRENCY is %q: use a three-letter ISO 4217 code, e.g. usd, eur or jpy", s.Currency)
	}
	return s, problems
}

// checkStripeKeys checks the keys that payments through Stripe need.
func checkStripeKeys(s Stripe, problems []error) []error {
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	secret := s.SecretKey.Reveal()
	const dashboard = "the Stripe Dashboard, Developers > API keys"
	switch {
	case secret == "":
		problem("STRIPE_SECRET_KEY is not set: STRIPE_ENABLED=true needs your secret key (sk_test_... or sk_live_...) from %s, or set STRIPE_ENABLED=false", dashboard)
	case keyKind(secret) != "sk" && keyKind(secret) != "rk":
		problem("STRIPE_SECRET_KEY does not look like a Stripe secret key: it starts with sk_test_, sk_live_, rk_test_ or rk_live_ (%s)", dashboard)
	}
	switch {
	case s.PublishableKey == "":
		problem("STRIPE_PUBLISHABLE_KEY is not set: STRIPE_ENABLED=true needs your publishable key (pk_test_... or pk_live_...) from %s", dashboard)
	case keyKind(s.PublishableKey) != "pk":
		problem("STRIPE_PUBLISHABLE_KEY is %q: a publishable key starts with pk_test_ or pk_live_ (%s)", s.PublishableKey, dashboard)
	case keyMode(secret) != "" && keyMode(s.PublishableKey) != keyMode(secret):
		problem("STRIPE_PUBLISHABLE_KEY is a %s-mode key but STRIPE_SECRET_KEY a %s-mode one: use the two keys of one mode", keyMode(s.PublishableKey), keyMode(secret))
	}
	return problems
}

// checkFakeStripe checks STRIPE_FAKE=true: development only, on this
// machine only, and never beside real keys, which would leave it unclear
// whether money moves. APP_ENV defaults to development, so a deployment
// that forgets it would serve a free "pay" to anyone: the loopback
// BASE_URL is what a deployment cannot have. It turns payments on, with a
// webhook secret made for the run unless one is set.
func checkFakeStripe(s *Stripe, env Env, baseURL *url.URL, problems []error) []error {
	if env == Production {
		problems = append(problems, errors.New("STRIPE_FAKE=true while APP_ENV is production: the fake checkout grants credits without payment; remove STRIPE_FAKE and set your Stripe keys"))
	}
	if baseURL != nil && !loopback(baseURL.Hostname()) {
		problems = append(problems, fmt.Errorf("STRIPE_FAKE=true while BASE_URL is %s: the fake checkout grants credits without payment, so it runs only on this machine (BASE_URL http://localhost:8000, 127.0.0.1 or [::1]); remove STRIPE_FAKE and set your Stripe keys to take payments at %s", baseURL, baseURL.Host))
	}
	if s.SecretKey != "" || s.PublishableKey != "" {
		problems = append(problems, errors.New("STRIPE_FAKE=true and a Stripe key are both set: remove STRIPE_FAKE to use Stripe with your keys, or remove the keys to use the fake checkout"))
	}
	if s.WebhookSecret == "" {
		s.WebhookSecret = "whsec_fake_" + randomKey()
	}
	s.Enabled = true
	return problems
}

// loopback reports whether host names this machine: localhost, a name
// under .localhost (RFC 6761), or a loopback address.
func loopback(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// keyKind is the kind of a Stripe key, from its prefix: sk (secret), rk
// (restricted), pk (publishable), or "" for anything else.
func keyKind(key string) string {
	kind, rest, ok := strings.Cut(key, "_")
	if !ok || keyMode(key) == "" || rest == "" {
		return ""
	}
	switch kind {
	case "sk", "rk", "pk":
		return kind
	}
	return ""
}

// keyMode is "test" or "live" for a key of that mode, else "".
func keyMode(key string) string {
	_, rest, _ := strings.Cut(key, "_")
	switch {
	case strings.HasPrefix(rest, "test_") && len(rest) > len("test_"):
		return "test"
	case strings.HasPrefix(rest, "live_") && len(rest) > len("live_"):
		return "live"
	}
	return ""
}

func randomKey() Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return Secret(hex.EncodeToString(b))
}
