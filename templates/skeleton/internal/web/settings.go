package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/sessions"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// dashboardPage is what templates/dashboard/index.html shows.
type dashboardPage struct {
	User     accounts.User
	Sessions int
	Credits  creditsCard
	Storage  storageCard
}

// storageCard is the storage used against the quota, on the dashboard.
type storageCard struct {
	Used, Quota         int64
	UsedText, QuotaText string
}

func handleDashboard(p *response.Pages, a *auth, c *Credits, canBuy bool, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr := principalFrom(r.Context())
		list, err := a.Sessions.List(r.Context(), pr.user.ID, pr.user.State())
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		card, err := c.card(r.Context(), pr.user.ID, canBuy)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		used, err := fs.Used(r.Context(), pr.user.ID)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		quota := fs.Limits().QuotaBytes
		storage := storageCard{Used: used, Quota: quota, UsedText: files.FormatBytes(used), QuotaText: files.FormatBytes(quota)}
		p.Page(w, r, http.StatusOK, "dashboard/index", views.Page{Title: "Dashboard", Data: dashboardPage{User: pr.user, Sessions: len(list), Credits: card, Storage: storage}})
	})
}

// sessionRow is one session in the settings list.
type sessionRow struct {
	sessions.Session
	Current bool
}

// settingsPage is what templates/settings/index.html shows.
type settingsPage struct {
	User     accounts.User
	Profile  form.Form
	Email    form.Form
	Password form.Form
	Delete   form.Form
	Sessions []sessionRow
	// Fresh is true while the session may make sensitive changes without
	// entering the password again.
	Fresh bool
}

func (a *auth) settingsPage(r *http.Request, pr *principal, problems accounts.Problems) (settingsPage, error) {
	list, err := a.Sessions.List(r.Context(), pr.user.ID, pr.user.State())
	if err != nil {
		return settingsPage{}, err
	}
	rows := make([]sessionRow, 0, len(list))
	for _, s := range list {
		rows = append(rows, sessionRow{Session: s, Current: s.ID == pr.session.ID})
	}
	return settingsPage{
		User: pr.user,
		Profile: form.Form{Action: "/settings/profile", Submit: "Save profile", Fields: []form.Field{
			nameField(pr.user.Name, problems["name"]),
		}},
		Email: form.Form{Action: "/settings/email", Submit: "Change email", Fields: []form.Field{
			{Name: "email", Label: "New email address", Type: "email", Autocomplete: "email", Problem: problems["email"], MaxLength: accounts.MaxEmailLength,
				Help: "We send a link to the new address; your account keeps the current one until you open it."},
		}},
		Password: form.Form{Action: "/settings/password", Submit: "Change password", Fields: []form.Field{
			currentPasswordField("current_password", "Current password", problems["current_password"]),
			newPasswordField("new_password", "New password", problems["password"]),
		}},
		Delete: form.Form{Action: "/settings/delete", Submit: "Delete my account", Fields: []form.Field{
			{Name: "confirm", Label: "Type DELETE to confirm", Type: "text", Autocomplete: "off", Problem: problems["confirm"], MaxLength: 10},
		}},
		Sessions: rows,
		Fresh:    a.recentlyAuthenticated(pr),
	}, nil
}

func (a *auth) renderSettings(w http.ResponseWriter, r *http.Request, p *response.Pages, status int, problems accounts.Problems) {
	pr := principalFrom(r.Context())
	sp, err := a.settingsPage(r, pr, problems)
	if err != nil {
		p.Fail(w, r, err)
		return
	}
	p.Page(w, r, status, "settings/index", views.Page{Title: "Settings", Data: sp})
}

// renderLimited answers a settings form refused by a rate limit: 429, with
// Retry-After and the wait under field.
func (a *auth) renderLimited(w http.ResponseWriter, r *http.Request, p *response.Pages, field string, limit *accounts.LimitedError) {
	retryAfter(w, limit.RetryAfter)
	a.renderSettings(w, r, p, http.StatusTooManyRequests, accounts.Problems{field: waitMessage(limit)})
}

func handleSettings(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.renderSettings(w, r, p, http.StatusOK, nil)
	})
}

func settingsDone(w http.ResponseWriter, r *http.Request, p *response.Pages, message string) {
	p.Flash(w, views.Flash{Kind: "success", Message: message})
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// handleProfile saves the display name. Only the name is read from the
// form: a posted role, email or anything else is ignored.
func handleProfile(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		pr := principalFrom(r.Context())
		err := a.Users.UpdateProfile(r.Context(), pr.user.ID, r.PostForm.Get("name"))
		var problems accounts.Problems
		switch {
		case errors.As(err, &problems):
			a.renderSettings(w, r, p, http.StatusUnprocessableEntity, problems)
		case err != nil:
			p.Fail(w, r, err)
		default:
			settingsDone(w, r, p, "Your profile is saved.")
		}
	})
}

// requireFresh sends a session whose password entry is older than the
// reauthentication window to enter it again, then come back to the page
// back, and reports whether the caller may go on.
func (a *auth) requireFresh(w http.ResponseWriter, r *http.Request, back string) bool {
	if a.recentlyAuthenticated(principalFrom(r.Context())) {
		return true
	}
	http.Redirect(w, r, "/reauthenticate?next="+url.QueryEscape(back), http.StatusSeeOther)
	return false
}

func handleEmailChange(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) || !a.requireFresh(w, r, "/settings") {
			return
		}
		pr := principalFrom(r.Context())
		err := a.Users.RequestEmailChange(r.Context(), pr.user.ID, r.PostForm.Get("email"))
		var problems accounts.Problems
		var limit *accounts.LimitedError
		switch {
		case errors.As(err, &limit):
			a.renderLimited(w, r, p, "email", limit)
		case errors.As(err, &problems):
			a.renderSettings(w, r, p, http.StatusUnprocessableEntity, problems)
		case err != nil:
			p.Fail(w, r, err)
		default:
			settingsDone(w, r, p, "We sent a link to the new address. Your email changes once you open it.")
		}
	})
}

// handlePasswordChange sets a new password, ends every other session and
// renews this one's token.
func handlePasswordChange(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) || !a.requireFresh(w, r, "/settings") {
			return
		}
		pr := principalFrom(r.Context())
		err := a.Users.ChangePassword(r.Context(), pr.user.ID, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"))
		var problems accounts.Problems
		var limit *accounts.LimitedError
		switch {
		case errors.As(err, &limit):
			a.renderLimited(w, r, p, "current_password", limit)
			return
		case errors.As(err, &problems):
			a.logger.WarnContext(r.Context(), "password change refused", "user_id", pr.user.ID)
			a.renderSettings(w, r, p, http.StatusUnprocessableEntity, problems)
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		if _, err := a.Sessions.EndOthers(r.Context(), pr.user.ID, pr.session.ID); err != nil {
			p.Fail(w, r, err)
			return
		}
		u, err := a.Users.ByID(r.Context(), pr.user.ID)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		if !a.renewed(w, r, p, pr, u, true) {
			return
		}
		settingsDone(w, r, p, "Your password is changed. Every other session is signed out.")
	})
}

// handleEndSessions ends one other session (session=<id>) or all the
// others (session=others). Only the user's own sessions can be named.
func handleEndSessions(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		pr := principalFrom(r.Context())
		id := r.PostForm.Get("session")
		switch {
		case id == "others":
			if _, err := a.Sessions.EndOthers(r.Context(), pr.user.ID, pr.session.ID); err != nil {
				p.Fail(w, r, err)
				return
			}
			settingsDone(w, r, p, "Every other session is signed out.")
		case id == pr.session.ID || id == "":
			p.Error(w, r, http.StatusBadRequest)
		default:
			ended, err := a.Sessions.EndForUser(r.Context(), pr.user.ID, id)
			if err != nil {
				p.Fail(w, r, err)
				return
			}
			if !ended {
				p.Error(w, r, http.StatusNotFound)
				return
			}
			settingsDone(w, r, p, "That session is signed out.")
		}
	})
}

func handleDeleteAccount(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) || !a.requireFresh(w, r, "/settings") {
			return
		}
		pr := principalFrom(r.Context())
		if r.PostForm.Get("confirm") != "DELETE" {
			a.renderSettings(w, r, p, http.StatusUnprocessableEntity, accounts.Problems{"confirm": "Type DELETE in capital letters to confirm."})
			return
		}
		if err := a.Users.Delete(r.Context(), pr.user.ID); err != nil {
			p.Fail(w, r, err)
			return
		}
		a.clearCookie(w)
		p.Flash(w, views.Flash{Kind: "info", Message: "Your account is deleted. We sent a last email to confirm it."})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}
