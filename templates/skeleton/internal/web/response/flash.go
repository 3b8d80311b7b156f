package response

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
)

// Flashes carries a one-time notice across a redirect in a signed,
// HttpOnly cookie, so the page after a POST can say what happened.
type Flashes struct {
	key    []byte
	cookie string
	secure bool
}

// NewFlashes derives the signing key from the application secret, so the
// secret itself signs nothing and later features can derive their own keys.
func NewFlashes(secret []byte, base *url.URL) *Flashes {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("flash cookie v1"))
	f := &Flashes{key: mac.Sum(nil)}
	f.cookie, f.secure = HostCookie(base, "flash")
	return f
}

func (f *Flashes) sign(payload string) string {
	mac := hmac.New(sha256.New, f.key)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// set queues fl for the next page this client loads.
func (f *Flashes) set(w http.ResponseWriter, fl views.Flash) {
	body, _ := json.Marshal(fl) // a struct of strings always marshals
	payload := base64.RawURLEncoding.EncodeToString(body)
	http.SetCookie(w, &http.Cookie{
		Name:     f.cookie,
		Value:    payload + "." + f.sign(payload),
		Path:     "/",
		MaxAge:   60,
		HttpOnly: true,
		Secure:   f.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// pending reports whether r carries a flash cookie, valid or not: the page
// must then render for this request, which shows or clears it.
func (f *Flashes) pending(r *http.Request) bool {
	_, err := r.Cookie(f.cookie)
	return err == nil
}

// pop returns the pending flash, if its signature holds, and clears it.
func (f *Flashes) pop(w http.ResponseWriter, r *http.Request) *views.Flash {
	c, err := r.Cookie(f.cookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{
		Name:     f.cookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   f.secure,
		SameSite: http.SameSiteLaxMode,
	})
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(f.sign(payload))) {
		return nil
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var fl views.Flash
	if err := json.Unmarshal(body, &fl); err != nil {
		return nil
	}
	switch fl.Kind {
	case "success", "info", "warning", "danger":
		return &fl
	}
	return nil
}

// HostCookie names one of the app's cookies, decided once from BASE_URL.
// Over https it is __Host-<name> and Secure: with Path=/ and no Domain, no
// subdomain or plain-http page can set or read it. Over http (local
// development) browsers other than Chromium refuse Secure cookies and the
// __Host- prefix, so the name stays plain; it is HttpOnly and Lax either way.
func HostCookie(base *url.URL, name string) (cookie string, secure bool) {
	if base != nil && base.Scheme == "https" {
		return "__Host-" + name, true
	}
	return name, false
}
