package web

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

// flashes carries a one-time notice across a redirect in a signed,
// HttpOnly cookie, so the page after a POST can say what happened.
type flashes struct {
	key    []byte
	cookie string
	secure bool
}

// newFlashes derives the signing key from the application secret, so the
// secret itself signs nothing and later features can derive their own keys.
func newFlashes(secret []byte, base *url.URL) *flashes {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("flash cookie v1"))
	f := &flashes{key: mac.Sum(nil)}
	f.cookie, f.secure = hostCookie(base, "flash")
	return f
}

func (f *flashes) sign(payload string) string {
	mac := hmac.New(sha256.New, f.key)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// set queues fl for the next page this client loads.
func (f *flashes) set(w http.ResponseWriter, r *http.Request, fl views.Flash) {
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

// pop returns the pending flash, if its signature holds, and clears it.
func (f *flashes) pop(w http.ResponseWriter, r *http.Request) *views.Flash {
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
