package config

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const goodKey = "3f9c2a1b3f9c2a1b3f9c2a1b3f9c2a1b3f9c2a1b3f9c2a1b3f9c2a1b3f9c2a1b"

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Env != Development || cfg.HTTPAddr != ":8000" || cfg.BaseURL.String() != "http://localhost:8000" ||
		cfg.DatabaseURL.Reveal() != "sqlite:data/app.db" || cfg.LogFormat != "text" || cfg.LogLevel != slog.LevelInfo || cfg.TrustProxyHeaders {
		t.Fatalf("defaults = %+v", cfg)
	}
	if !cfg.SecretKeyGenerated || len(cfg.SecretKey.Reveal()) < minSecretKeyLength {
		t.Fatal("development without SECRET_KEY did not get a random key")
	}
	prod, err := Load(env(map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey, "EMAIL_FROM": "hello@example.com", "SMTP_HOST": "smtp.example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if prod.LogFormat != "json" || prod.SecretKeyGenerated || prod.SecretKey.Reveal() != goodKey {
		t.Fatalf("production = %+v", prod)
	}
}

func TestLoadRefusesBadValues(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want []string // the variable and the fix, both named
	}{
		{"production without key", map[string]string{"APP_ENV": "production"}, []string{"SECRET_KEY is not set", "openssl rand -hex 32"}},
		{"production placeholder key", map[string]string{"APP_ENV": "production", "SECRET_KEY": "change-me"}, []string{"SECRET_KEY is a placeholder", "openssl rand"}},
		{"short key", map[string]string{"SECRET_KEY": "tooshort-but-not-a-placeholder"}, []string{"SECRET_KEY is 30 characters", "at least 32"}},
		{"unknown env", map[string]string{"APP_ENV": "staging"}, []string{"APP_ENV", "development or production"}},
		{"bad addr", map[string]string{"HTTP_ADDR": "8000"}, []string{"HTTP_ADDR", ":8000"}},
		{"bad base url", map[string]string{"BASE_URL": "example.com"}, []string{"BASE_URL", "https://example.com"}},
		{"bad database url", map[string]string{"DATABASE_URL": "mysql://x"}, []string{"DATABASE_URL", "sqlite:", "postgres://"}},
		{"empty sqlite path", map[string]string{"DATABASE_URL": "sqlite:"}, []string{"DATABASE_URL", "sqlite:data/app.db"}},
		{"postgres without name", map[string]string{"DATABASE_URL": "postgres://u:p@db:5432"}, []string{"DATABASE_URL", "database name"}},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, []string{"LOG_LEVEL", "debug, info, warn or error"}},
		{"bad log format", map[string]string{"LOG_FORMAT": "xml"}, []string{"LOG_FORMAT", "json or text"}},
		{"bad trust", map[string]string{"TRUST_PROXY_HEADERS": "maybe"}, []string{"TRUST_PROXY_HEADERS", "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.vars))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(env(map[string]string{"APP_ENV": "production", "LOG_FORMAT": "xml", "HTTP_ADDR": "nope"}))
	for _, want := range []string{"SECRET_KEY", "LOG_FORMAT", "HTTP_ADDR"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	pgPassword := "hunter2-pg-password"
	cfg, err := Load(env(map[string]string{
		"SECRET_KEY":   goodKey,
		"DATABASE_URL": "postgres://app:" + pgPassword + "@db:5432/app",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("start", "config", cfg, "key", cfg.SecretKey)
	printed := logged.String() + fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.DatabaseURL)
	for _, secret := range []string{goodKey, pgPassword} {
		if strings.Contains(printed, secret) {
			t.Fatalf("a secret was printed:\n%s", printed)
		}
	}
	_, err = Load(env(map[string]string{"DATABASE_URL": "postgres://app:" + pgPassword + "@db:5432"}))
	if err == nil || strings.Contains(err.Error(), pgPassword) {
		t.Fatalf("the configuration error leaks the password: %v", err)
	}
}
