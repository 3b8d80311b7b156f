package web

import "net/url"

// hostCookie names one of the app's cookies, decided once from BASE_URL.
// Over https it is __Host-<name> and Secure: with Path=/ and no Domain, no
// subdomain or plain-http page can set or read it. Over http (local
// development) browsers other than Chromium refuse Secure cookies and the
// __Host- prefix, so the name stays plain; it is HttpOnly and Lax either way.
func hostCookie(base *url.URL, name string) (cookie string, secure bool) {
	if base != nil && base.Scheme == "https" {
		return "__Host-" + name, true
	}
	return name, false
}
