package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmailSettings(t *testing.T) {
	dev, err := Load(env(nil))
	require.NoError(t, err)
	assert.Equal(t, "file", dev.Email.Backend, "development email backend")
	assert.Equal(t, "data/mail", dev.Email.FileDir, "development email directory")
	assert.NotEmpty(t, dev.Email.From, "development sender")

	smtp, err := Load(env(map[string]string{"APP_ENV": "production", "SECRET_KEY": goodKey,
		"EMAIL_FROM": "Acme <hello@acme.example>", "SMTP_HOST": "smtp.acme.example", "SMTP_PORT": "465", "SMTP_TLS": "implicit",
		"SMTP_USERNAME": "acme", "SMTP_PASSWORD": "smtp-secret-value"}))
	require.NoError(t, err)
	e := smtp.Email
	assert.Equal(t, "smtp", e.Backend)
	assert.Equal(t, "smtp.acme.example", e.SMTPHost)
	assert.Equal(t, 465, e.SMTPPort)
	assert.Equal(t, "implicit", e.SMTPTLS)
	assert.Equal(t, `"Acme" <hello@acme.example>`, e.From)
	s := strings.Join([]string{e.SMTPPassword.String(), smtp.LogValue().String()}, " ")
	require.NotContains(t, s, "smtp-secret-value", "the SMTP password reaches a string or log value")

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
		if !assert.Error(t, err, "%v loaded", tc.vars) {
			continue
		}
		for _, want := range tc.want {
			assert.ErrorContains(t, err, want, "%v", tc.vars)
		}
	}
}
