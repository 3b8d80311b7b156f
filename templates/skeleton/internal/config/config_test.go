package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goodKey is the output of `openssl rand -hex 32`.
const goodKey = "b22113b50a1f450a1dc9b3f113eb384bd5f815ec6e9981ad95d15363593f9a3c"

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(env(nil))
	require.NoError(t, err)
	assert.Equal(t, Development, cfg.Env)
	assert.Equal(t, ":8000", cfg.HTTPAddr)
	assert.Equal(t, "http://localhost:8000", cfg.BaseURL.String())
	assert.Equal(t, "sqlite:data/app.db", cfg.DatabaseURL.Reveal())
	assert.Equal(t, "text", cfg.LogFormat)
	assert.Equal(t, slog.LevelInfo, cfg.LogLevel)
	assert.False(t, cfg.TrustProxyHeaders, "TrustProxyHeaders")
	assert.True(t, cfg.SecretKeyGenerated, "development without SECRET_KEY gets a random key")
	assert.GreaterOrEqual(t, len(cfg.SecretKey.Reveal()), minSecretKeyLength, "the random key's length")
	prod, err := Load(env(map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey, "EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com"}))
	require.NoError(t, err)
	assert.Equal(t, "json", prod.LogFormat, "production")
	assert.False(t, prod.SecretKeyGenerated, "production")
	assert.Equal(t, goodKey, prod.SecretKey.Reveal(), "production")
}

// Every refusal names the variable and its fix; the production key cases
// are row 51, SOURCE_DIR in production row 62.
func TestLoadRefusesBadValues(t *testing.T) {
	tests := []refusal{
		{"production without key", map[string]string{"APP_ENV": "production"}, []string{"SECRET_KEY is not set", "openssl rand -hex 32"}},
		{"production placeholder key", map[string]string{"APP_ENV": "production", "SECRET_KEY": "change-me"}, []string{"SECRET_KEY is a placeholder", "openssl rand"}},
		{"short key", map[string]string{"SECRET_KEY": "tooshort-but-not-a-placeholder"}, []string{"SECRET_KEY is 30 characters", "at least 32"}},
		{"production key of one character", map[string]string{"APP_ENV": "production", "SECRET_KEY": strings.Repeat("a", 32)}, []string{"SECRET_KEY looks made by hand", "about 0 bits", "openssl rand -hex 32"}},
		{"production key that is a run", map[string]string{"APP_ENV": "production", "SECRET_KEY": "abcdefghijklmnopqrstuvwxyz0123456789"}, []string{"SECRET_KEY looks made by hand", "openssl rand -hex 32"}},
		{"production key that repeats", map[string]string{"APP_ENV": "production", "SECRET_KEY": strings.Repeat("3f9c2a1b", 8)}, []string{"SECRET_KEY looks made by hand", "openssl rand -hex 32"}},
		{"production key of a repeated word", map[string]string{"APP_ENV": "production", "SECRET_KEY": strings.Repeat("password1234", 3)}, []string{"SECRET_KEY looks made by hand", "openssl rand -hex 32"}},
		{"unknown env", map[string]string{"APP_ENV": "staging"}, []string{"APP_ENV", "development or production"}},
		{"bad addr", map[string]string{"HTTP_ADDR": "8000"}, []string{"HTTP_ADDR", ":8000"}},
		{"bad base url", map[string]string{"BASE_URL": "example.com"}, []string{"BASE_URL", "https://example.com"}},
		{"bad database url", map[string]string{"DATABASE_URL": "mysql://x"}, []string{"DATABASE_URL", "sqlite:", "postgres://"}},
		{"empty sqlite path", map[string]string{"DATABASE_URL": "sqlite:"}, []string{"DATABASE_URL", "sqlite:data/app.db"}},
		{"postgres without name", map[string]string{"DATABASE_URL": "postgres://u:p@db:5432"}, []string{"DATABASE_URL", "database name"}},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, []string{"LOG_LEVEL", "debug, info, warn or error"}},
		{"bad log format", map[string]string{"LOG_FORMAT": "xml"}, []string{"LOG_FORMAT", "json or text"}},
		{"bad trust", map[string]string{"TRUST_PROXY_HEADERS": "maybe"}, []string{"TRUST_PROXY_HEADERS", "true"}},
		{"source dir in production", map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey, "EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com", "SOURCE_DIR": "."},
			[]string{"SOURCE_DIR is set while APP_ENV is production", "remove SOURCE_DIR"}},
		{"source dir that is not the project", map[string]string{"SOURCE_DIR": "/nonexistent"}, []string{`SOURCE_DIR is "/nonexistent", which has no internal/views/templates`, "SOURCE_DIR=."}},
	}
	requireRefusals(t, tests)
}

// SOURCE_DIR is the project's directory, which holds both source folders.
func TestLoadSourceDir(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range SourceDirs {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
	}
	cfg, err := Load(env(map[string]string{"SOURCE_DIR": dir}))
	require.NoError(t, err)
	assert.Equal(t, dir, cfg.SourceDir)
}

// refusal is an environment Load must refuse, and what its error must say.
type refusal struct {
	name string
	vars map[string]string
	want []string // the variable and the fix, both named
}

func requireRefusals(t *testing.T, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.vars))
			require.Error(t, err)
			for _, want := range tt.want {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(env(map[string]string{"APP_ENV": "production", "LOG_FORMAT": "xml", "HTTP_ADDR": "nope"}))
	for _, want := range []string{"SECRET_KEY", "LOG_FORMAT", "HTTP_ADDR"} {
		assert.ErrorContains(t, err, want)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	pgPassword := "hunter2-pg-password"
	cfg, err := Load(env(map[string]string{
		"SECRET_KEY":   goodKey,
		"DATABASE_URL": "postgres://app:" + pgPassword + "@db:5432/app",
	}))
	require.NoError(t, err)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("start", "config", cfg, "key", cfg.SecretKey)
	printed := logged.String() + fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.DatabaseURL)
	for _, secret := range []string{goodKey, pgPassword} {
		require.NotContains(t, printed, secret, "a secret was printed")
	}
	_, err = Load(env(map[string]string{"DATABASE_URL": "postgres://app:" + pgPassword + "@db:5432"}))
	require.Error(t, err)
	require.NotContains(t, err.Error(), pgPassword, "the configuration error leaks the password")
}

// Row 51: random keys in every format the documentation suggests pass the
// production check, however unlucky the draw: the generator's (and
// randomKey's) 32 bytes in hex, `openssl rand -base64 32`, and the
// shortest allowed, 16 bytes in hex.
func TestRandomSecretKeysPass(t *testing.T) {
	formats := map[string]func() string{
		"generator":     func() string { return randomKey().Reveal() },
		"base64 32":     func() string { return base64.StdEncoding.EncodeToString(randomBytes(32)) },
		"shortest, hex": func() string { return hex.EncodeToString(randomBytes(16)) },
	}
	for name, key := range formats {
		lowest := math.Inf(1)
		for range 20000 {
			k := key()
			bits := estimatedBits(k)
			require.GreaterOrEqual(t, bits, float64(minSecretKeyBits), "%s key %q scores %.1f bits", name, k, bits)
			lowest = min(lowest, bits)
		}
		t.Logf("%s: lowest score %.1f bits", name, lowest)
	}
	// And one through Load, in production.
	_, err := Load(env(map[string]string{"APP_ENV": "production", "SECRET_KEY": randomKey().Reveal(), "EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com"}))
	require.NoError(t, err)
}

// Development takes any key of the allowed length: the entropy floor is
// for production, where the key signs real users' cookies.
func TestDevelopmentTakesAWeakKey(t *testing.T) {
	cfg, err := Load(env(map[string]string{"SECRET_KEY": strings.Repeat("a", 32)}))
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("a", 32), cfg.SecretKey.Reveal())
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// stripeOn is a complete test-mode Stripe configuration.
func stripeOn(extra map[string]string) map[string]string {
	vars := map[string]string{
		"STRIPE_ENABLED":         "true",
		"STRIPE_SECRET_KEY":      "sk_test_51AbCdEf",
		"STRIPE_PUBLISHABLE_KEY": "pk_test_51AbCdEf",
		"STRIPE_WEBHOOK_SECRET":  "whsec_0123456789",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return vars
}

func TestLoadStripe(t *testing.T) {
	off, err := Load(env(nil))
	require.NoError(t, err)
	assert.False(t, off.Stripe.Enabled, "Stripe is off by default")
	assert.Equal(t, "usd", off.Stripe.Currency, "the default currency")

	on, err := Load(env(stripeOn(map[string]string{"STRIPE_CURRENCY": "EUR"})))
	require.NoError(t, err)
	assert.True(t, on.Stripe.Enabled)
	assert.True(t, on.Stripe.TestMode(), "sk_test_ is test mode")
	assert.Equal(t, "eur", on.Stripe.Currency, "the currency is lower-cased, as Stripe writes it")
	assert.Equal(t, "sk_test_51AbCdEf", on.Stripe.SecretKey.Reveal())

	restricted, err := Load(env(stripeOn(map[string]string{"STRIPE_SECRET_KEY": "rk_test_51AbCdEf"})))
	require.NoError(t, err, "a restricted key is a secret key")
	assert.True(t, restricted.Stripe.TestMode())

	live, err := Load(env(stripeOn(map[string]string{
		"APP_ENV": "production", "SECRET_KEY": goodKey, "EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com",
		"STRIPE_SECRET_KEY": "sk_live_51AbCdEf", "STRIPE_PUBLISHABLE_KEY": "pk_live_51AbCdEf",
	})))
	require.NoError(t, err, "production takes live keys")
	assert.False(t, live.Stripe.TestMode())
}

// TestLoadRefusesBadStripeSettings: row 56.
func TestLoadRefusesBadStripeSettings(t *testing.T) {
	tests := []refusal{
		{"bad switch", map[string]string{"STRIPE_ENABLED": "yes please"}, []string{"STRIPE_ENABLED", "true"}},
		{"enabled without keys", map[string]string{"STRIPE_ENABLED": "true"},
			[]string{"STRIPE_SECRET_KEY is not set", "STRIPE_PUBLISHABLE_KEY is not set", "STRIPE_WEBHOOK_SECRET is not set", "STRIPE_ENABLED=false"}},
		{"live key in development", stripeOn(map[string]string{"STRIPE_SECRET_KEY": "sk_live_51AbCdEf", "STRIPE_PUBLISHABLE_KEY": "pk_live_51AbCdEf"}),
			[]string{"live Stripe key", "APP_ENV is development", "sk_test_"}},
		{"live key in development with Stripe off", map[string]string{"STRIPE_SECRET_KEY": "sk_live_51AbCdEf"},
			[]string{"live Stripe key"}},
		{"publishable key as secret", stripeOn(map[string]string{"STRIPE_SECRET_KEY": "pk_test_51AbCdEf"}),
			[]string{"STRIPE_SECRET_KEY does not look like", "sk_test_"}},
		{"secret key as publishable", stripeOn(map[string]string{"STRIPE_PUBLISHABLE_KEY": "sk_test_51AbCdEf"}),
			[]string{"STRIPE_PUBLISHABLE_KEY", "pk_test_"}},
		{"mixed modes", stripeOn(map[string]string{
			"APP_ENV": "production", "SECRET_KEY": goodKey, "EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com",
			"STRIPE_SECRET_KEY": "sk_live_51AbCdEf"}),
			[]string{"STRIPE_PUBLISHABLE_KEY is a test-mode key", "live-mode"}},
		{"bad webhook secret", stripeOn(map[string]string{"STRIPE_WEBHOOK_SECRET": "0123456789"}), []string{"STRIPE_WEBHOOK_SECRET", "whsec_"}},
		{"bad currency", stripeOn(map[string]string{"STRIPE_CURRENCY": "dollars"}), []string{"STRIPE_CURRENCY", "usd"}},
	}
	requireRefusals(t, tests)
}

// TestLoadFakeStripe: row 58. STRIPE_FAKE=true turns payments on through
// the development checkout, with no keys and a webhook secret made for
// the run.
func TestLoadFakeStripe(t *testing.T) {
	cfg, err := Load(env(map[string]string{"STRIPE_FAKE": "true"}))
	require.NoError(t, err)
	assert.True(t, cfg.Stripe.Enabled, "the fake turns payments on")
	assert.True(t, cfg.Stripe.Fake)
	assert.True(t, strings.HasPrefix(cfg.Stripe.WebhookSecret.Reveal(), "whsec_fake_"), "a signing secret is made for the run")
	other, err := Load(env(map[string]string{"STRIPE_FAKE": "true"}))
	require.NoError(t, err)
	assert.NotEqual(t, cfg.Stripe.WebhookSecret, other.Stripe.WebhookSecret, "each run its own secret")
	kept, err := Load(env(map[string]string{"STRIPE_FAKE": "true", "STRIPE_WEBHOOK_SECRET": "whsec_mine"}))
	require.NoError(t, err)
	assert.Equal(t, "whsec_mine", kept.Stripe.WebhookSecret.Reveal())
	for _, base := range []string{"http://localhost:8000", "http://app.localhost:3000", "http://127.0.0.1:8000", "http://[::1]:8000", "http://LOCALHOST."} {
		_, err := Load(env(map[string]string{"STRIPE_FAKE": "true", "BASE_URL": base}))
		assert.NoError(t, err, "BASE_URL %s is this machine", base)
	}
	off, err := Load(env(nil))
	require.NoError(t, err)
	assert.False(t, off.Stripe.Fake, "off by default")
}

// TestLoadRefusesFakeStripe: row 58. The fake checkout grants credits
// without payment: refused in production, at any address but this
// machine's (a deployment that forgot APP_ENV=production), and beside
// real keys.
func TestLoadRefusesFakeStripe(t *testing.T) {
	requireRefusals(t, []refusal{
		{"bad switch", map[string]string{"STRIPE_FAKE": "sure"}, []string{"STRIPE_FAKE is \"sure\"", "true"}},
		{"in production", map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey, "EMAIL_FROM": "hello@example.com",
			"SMTP_HOST": "smtp.example.com", "STRIPE_FAKE": "true"}, []string{"STRIPE_FAKE=true while APP_ENV is production", "remove STRIPE_FAKE"}},
		{"beside real keys", stripeOn(map[string]string{"STRIPE_FAKE": "true"}), []string{"STRIPE_FAKE=true and a Stripe key are both set"}},
		{"beside a publishable key", map[string]string{"STRIPE_FAKE": "true", "STRIPE_PUBLISHABLE_KEY": "pk_test_51AbCdEf"},
			[]string{"STRIPE_FAKE=true and a Stripe key are both set"}},
		{"bad webhook secret", map[string]string{"STRIPE_FAKE": "true", "STRIPE_WEBHOOK_SECRET": "nope"}, []string{"whsec_"}},
		{"public address", map[string]string{"STRIPE_FAKE": "true", "BASE_URL": "https://shop.example.com"},
			[]string{"STRIPE_FAKE=true while BASE_URL is https://shop.example.com", "only on this machine", "remove STRIPE_FAKE"}},
		{"private address", map[string]string{"STRIPE_FAKE": "true", "BASE_URL": "http://10.0.0.5:8000"}, []string{"BASE_URL is http://10.0.0.5:8000"}},
		{"localhost lookalike", map[string]string{"STRIPE_FAKE": "true", "BASE_URL": "http://localhost.example.com"},
			[]string{"BASE_URL is http://localhost.example.com"}},
		{"all addresses", map[string]string{"STRIPE_FAKE": "true", "BASE_URL": "http://0.0.0.0:8000"}, []string{"BASE_URL is http://0.0.0.0:8000"}},
	})
}

// TestStripeSecretsNeverPrint: row 56.
func TestStripeSecretsNeverPrint(t *testing.T) {
	vars := stripeOn(nil)
	cfg, err := Load(env(vars))
	require.NoError(t, err)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("start", "config", cfg)
	printed := logged.String() + fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)
	for _, secret := range []string{vars["STRIPE_SECRET_KEY"], vars["STRIPE_WEBHOOK_SECRET"]} {
		require.NotContains(t, printed, secret, "a Stripe secret was printed")
	}
	assert.Contains(t, logged.String(), "stripe_enabled=true", "the start-up line says whether payments are on")
	_, err = Load(env(stripeOn(map[string]string{"STRIPE_WEBHOOK_SECRET": "not-a-whsec-secret"})))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "not-a-whsec-secret", "the configuration error leaks the webhook secret")
}
