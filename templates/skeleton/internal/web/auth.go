package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/sessions"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/htmx"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// Accounts are the parts the account, settings and admin pages use.
type Accounts struct {
	Users    *accounts.Users
	Sessions *sessions.Store
	Audit    *audit.Log
	// Outbox is listed on the development-only outbox page.
	Outbox *mail.Outbox
	// Messages are the contact messages shown to admins.
	Messages ContactLister
	// ReauthWindow is how long after entering their password a user may
	// change their email, password or delete their account.
	ReauthWindow time.Duration
}

// auth carries the accounts parts and the cookie settings to the handlers.
type auth struct {
	Accounts
	logger      *slog.Logger
	clock       clock.Clock
	cookieName  string
	secure      bool
	trustProxy  bool
	development bool
}

// newAuth names the session cookie from BASE_URL (see hostCookie).
func newAuth(logger *slog.Logger, clk clock.Clock, config Config, acct Accounts) *auth {
	if acct.ReauthWindow == 0 {
		acct.ReauthWindow = 10 * time.Minute
	}
	a := &auth{Accounts: acct, logger: logger, clock: clk, trustProxy: config.TrustProxyHeaders, development: config.Development}
	a.cookieName, a.secure = response.HostCookie(config.BaseURL, "session")
	return a
}

type principalKey struct{}

// principal is the signed-in user of a request and their session.
type principal struct {
	user    accounts.User
	session *sessions.Session
}

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

// currentUser returns the signed-in user, or nil.
func currentUser(r *http.Request) *accounts.User {
	if p := principalFrom(r.Context()); p != nil {
		return &p.user
	}
	return nil
}

// viewAccount is the signed-in user as the layout shows them.
func viewAccount(r *http.Request) *views.Account {
	u := currentUser(r)
	if u == nil {
		return nil
	}
	return &views.Account{Name: u.Name, Email: u.Email, Admin: u.IsAdmin()}
}

// loadSession finds the request's session and user. The user is read
// from the database on every request, so a deactivation or a role change
// applies at once, and a session signed in before the password or address
// changed (User.State) is ended. A cookie that names no live session is
// cleared; a database error ends nothing and answers as signed out, so the
// user is back once the database is.
func (a *auth) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(a.cookieName)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := a.Sessions.Lookup(r.Context(), c.Value)
		if err != nil {
			a.logger.ErrorContext(r.Context(), "load session", "err", err)
			next.ServeHTTP(w, r)
			return
		}
		if sess == nil {
			a.clearCookie(w)
			next.ServeHTTP(w, r)
			return
		}
		u, err := a.Users.ByID(r.Context(), sess.UserID)
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			a.logger.ErrorContext(r.Context(), "load session user", "err", err)
			next.ServeHTTP(w, r)
			return
		}
		if err != nil || !u.Active || !u.Verified() || sess.UserState != u.State() {
			if err := a.Sessions.End(r.Context(), sess.ID); err != nil {
				a.logger.ErrorContext(r.Context(), "end session of an unusable account", "err", err)
			}
			a.clearCookie(w)
			next.ServeHTTP(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, &principal{user: u, session: sess})
		// Pages for a signed-in user are personal: no shared cache keeps them.
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (a *auth) setCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: a.cookieName, Value: token, Path: "/",
		MaxAge:   int(a.Sessions.Timeouts().Absolute / time.Second),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
}

// renewed gives the signed-in session a new token, bound to the state of
// u, the account as it is now (after a password or address change, the
// new one), and sends it; with reauthenticated the session counts as just
// reauthenticated. On failure it answers the error page and reports false.
func (a *auth) renewed(w http.ResponseWriter, r *http.Request, p *response.Pages, pr *principal, u accounts.User, reauthenticated bool) bool {
	token, err := a.Sessions.Renew(r.Context(), pr.session, u.State(), reauthenticated)
	if err != nil {
		p.Fail(w, r, err)
		return false
	}
	a.setCookie(w, token)
	return true
}

// userFromPath loads the account named by the route's {id}; a missing one
// answers 404. On failure it has answered and reports false.
func (a *auth) userFromPath(w http.ResponseWriter, r *http.Request, p *response.Pages) (accounts.User, bool) {
	u, err := a.Users.ByID(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		p.Error(w, r, http.StatusNotFound)
		return accounts.User{}, false
	case err != nil:
		p.Fail(w, r, err)
		return accounts.User{}, false
	}
	return u, true
}

func (a *auth) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: a.cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
}

// signIn is the accounts.SignIn of a login request: it starts the user's
// session in the login's transaction, ending the request's current one, so
// the token before sign-in is never the token after (no fixation). The new
// token is put in *token, for the cookie once the login has committed.
func (a *auth) signIn(r *http.Request, token *string) accounts.SignIn {
	var replaces string
	if p := principalFrom(r.Context()); p != nil {
		replaces = p.session.ID
	} else if c, err := r.Cookie(a.cookieName); err == nil {
		if old, err := a.Sessions.Lookup(r.Context(), c.Value); err == nil && old != nil {
			replaces = old.ID
		}
	}
	return func(ctx context.Context, tx *database.Tx, u accounts.User) error {
		var err error
		*token, _, err = a.Sessions.Create(ctx, tx, sessions.Start{
			UserID: u.ID, UserState: u.State(), UserAgent: r.UserAgent(), IP: clientIP(r, a.trustProxy), Replaces: replaces,
		})
		return err
	}
}

// recentlyAuthenticated reports whether the password was entered in this
// session within the reauthentication window.
func (a *auth) recentlyAuthenticated(p *principal) bool {
	return a.clock.Now().Sub(p.session.AuthenticatedAt) < a.ReauthWindow
}

// requireUser lets signed-in users through and sends anyone else to the
// sign-in page, to come back afterwards.
func requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if principalFrom(r.Context()) == nil {
			redirectToLogin(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin lets admins through; signed-in users get 403 and anyone
// else is sent to sign in.
func requireAdmin(p *response.Pages, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr := principalFrom(r.Context())
		switch {
		case pr == nil:
			redirectToLogin(w, r)
		case !pr.user.IsAdmin():
			p.ErrorText(w, r, http.StatusForbidden, "No access", "This page is for administrators. If you need access, ask one of them.")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func redirectToLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if htmx.IsRequest(r) {
		htmx.Redirect(w, target, http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext returns next if it is a path on this site, else "/". A next
// of //evil.example, /\evil.example or https://evil.example would send the
// user to another site after signing in.
func safeNext(next string) string {
	if next == "" {
		return "/dashboard"
	}
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// clientIP is the address rate limits count by: the peer, or with a
// trusted proxy the address it reports, the last entry of the last
// X-Forwarded-For line. The proxy adds that entry itself; anything before
// it, in its line or in lines of their own, the client may have written.
func clientIP(r *http.Request, trustProxy bool) string {
	if lines := r.Header.Values("X-Forwarded-For"); trustProxy && len(lines) > 0 {
		last := lines[len(lines)-1]
		if ip := net.ParseIP(strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])); ip != nil {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
