package config

import (
	"strings"
	"testing"
)

func TestEmailSettings(t *testing.T) {
	dev, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if dev.Email.Backend != "file" || dev.Email.FileDir != "data/mail" || dev.Email.From == "" {
		t.Fatalf("development email defaults = %+v, want the file backend under data/mail", dev.Email)
	}

	smtp, err := Load(env(map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey,
		"EMAIL_FROM": "Acme <hello@acme.example>", "SMTP_HOST": "smtp.acme.example", "SMTP_PORT": "465", "SMTP_TLS": "implicit",
		"SMTP_USERNAME": "acme", "SMTP_PASSWORD": "smtp-secret-value"}))
	if err != nil {
		t.Fatal(err)
	}
	e := smtp.Email
	if e.Backend != "smtp" || e.SMTPHost != "smtp.acme.example" || e.SMTPPort != 465 || e.SMTPTLS != "implicit" || e.From != `"Acme" <hello@acme.example>` {
		t.Fatalf("smtp settings = %+v", e)
	}
	if s := strings.Join([]string{e.SMTPPassword.String(), smtp.LogValue().String()}, " "); strings.Contains(s, "smtp-secret-value") {
		t.Fatal("the SMTP password reaches a string or log value")
	}

	for _, tc := range []struct {
		vars map[string]string
		want []string
	}{
		{map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey}, []string{"EMAIL_FROM is not set", "SMTP_HOST is not set"}},
		{map[string]string{"EMAIL_BACKEND": "carrier-pigeon"}, []string{"EMAIL_BACKEND", "smtp or file"}},
		{map[string]string{"EMAIL_BACKEND": "smtp", "SMTP_HOST": "h", "SMTP_PORT": "99999"}, []string{"SMTP_PORT", "587"}},
		{map[string]string{"EMAIL_BACKEND": "smtp", "SMTP_HOST": "h", "SMTP_TLS": "maybe"}, []string{"SMTP_TLS", "starttls"}},
		{map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey, "EMAIL_FROM": "a@b.example", "SMTP_HOST": "h", "SMTP_TLS": "none"}, []string{"SMTP_TLS is none in production"}},
		{map[string]string{"EMAIL_BACKEND": "smtp", "SMTP_HOST": "h", "SMTP_USERNAME": "u"}, []string{"SMTP_USERNAME and SMTP_PASSWORD"}},
		{map[string]string{"EMAIL_FROM": "a@b.example\r\nBcc: x@evil.example"}, []string{"EMAIL_FROM"}},
	} {
		_, err := Load(env(tc.vars))
		if err == nil {
			t.Errorf("%v: loaded, want an error", tc.vars)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: error %q lacks %q", tc.vars, err, want)
			}
		}
	}
}
