package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// ContactLister is what the admin pages need from the contact messages.
type ContactLister interface {
	Recent(ctx context.Context, limit int) ([]contact.Message, error)
}

// adminDashboard is what templates/admin/index.html shows.
type adminDashboard struct {
	Counts   accounts.Counts
	Audit    []audit.Entry
	Messages []contact.Message
	DevMode  bool
}

func handleAdminDashboard(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counts, err := a.Users.Count(r.Context())
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		entries, err := a.Audit.Recent(r.Context(), "", 10)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		msgs, err := a.Messages.Recent(r.Context(), 5)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		p.Page(w, r, http.StatusOK, "admin/index", views.Page{Title: "Admin", Data: adminDashboard{
			Counts: counts, Audit: entries, Messages: msgs, DevMode: a.development,
		}})
	})
}

// adminUsers is what templates/admin/users.html shows.
type adminUsers struct {
	List       accounts.UserList
	Search     string
	RoleFilter string
	State      string
	Prev       string
	Next       string
}

const usersPerPage = 25

// pageNumber reads a page parameter: absent is the first page, and any
// whole number is a page, the list clamping it into range.
func pageNumber(v string) (int, bool) {
	if v == "" {
		return 1, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil || errors.Is(err, strconv.ErrRange)
}

// requestedPage reads the page parameter, or answers 400 and reports
// false.
func requestedPage(w http.ResponseWriter, r *http.Request, p *response.Pages) (int, bool) {
	v := r.URL.Query().Get("page")
	page, ok := pageNumber(v)
	if !ok {
		p.ErrorText(w, r, http.StatusBadRequest, "That page does not exist",
			fmt.Sprintf("The page number %q is not a whole number: use page=1 for the first page.", v))
	}
	return page, ok
}

// pageLinks are the addresses of the pages before and after page of a
// list at path with the filters params ("" where there is none).
func pageLinks(path string, params map[string]string, page, pages int) (prev, next string) {
	at := func(n int) string {
		v := url.Values{}
		for k, val := range params {
			if val != "" {
				v.Set(k, val)
			}
		}
		v.Set("page", strconv.Itoa(n))
		return path + "?" + v.Encode()
	}
	if page > 1 {
		prev = at(page - 1)
	}
	if page < pages {
		next = at(page + 1)
	}
	return prev, next
}

func handleAdminUsers(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		page, ok := requestedPage(w, r, p)
		if !ok {
			return
		}
		query := accounts.Query{Search: q.Get("q"), Role: accounts.Role(q.Get("role")), Status: q.Get("status"), Page: page, PerPage: usersPerPage}
		list, err := a.Users.List(r.Context(), query)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		data := adminUsers{List: list, Search: query.Search, RoleFilter: string(query.Role), State: query.Status}
		data.Prev, data.Next = pageLinks("/admin/users", map[string]string{"q": data.Search, "role": data.RoleFilter, "status": data.State},
			list.Page, list.Pages())
		p.Page(w, r, http.StatusOK, "admin/users", views.Page{Title: "Users", Data: data})
	})
}

// adminUser is what templates/admin/user.html shows.
type adminUser struct {
	User  accounts.User
	Audit []audit.Entry
	Self  bool
	// DeleteProblem says why the deletion form was refused.
	DeleteProblem string
}

func (a *auth) renderAdminUser(w http.ResponseWriter, r *http.Request, p *response.Pages, status int, u accounts.User, deleteProblem string) {
	entries, err := a.Audit.Recent(r.Context(), u.ID, 50)
	if err != nil {
		p.Fail(w, r, err)
		return
	}
	p.Page(w, r, status, "admin/user", views.Page{Title: u.Email, Data: adminUser{
		User: u, Audit: entries, Self: u.ID == currentUser(r).ID, DeleteProblem: deleteProblem,
	}})
}

func handleAdminUser(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := a.userFromPath(w, r, p); ok {
			a.renderAdminUser(w, r, p, http.StatusOK, u, "")
		}
	})
}

// handleAdminDelete deletes the account named in the path once its address
// is typed, and returns to the list of users.
func handleAdminDelete(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		u, ok := a.userFromPath(w, r, p)
		if !ok {
			return
		}
		err := a.Users.AdminDelete(r.Context(), currentUser(r).ID, u.ID, r.PostForm.Get("confirm"))
		var problems accounts.Problems
		switch {
		case errors.Is(err, accounts.ErrNotFound):
			p.Error(w, r, http.StatusNotFound)
		case errors.Is(err, accounts.ErrSelf):
			p.ErrorText(w, r, http.StatusConflict, "Not on your own account", "Delete your own account from your settings, or ask another administrator.")
		case errors.As(err, &problems):
			a.renderAdminUser(w, r, p, http.StatusUnprocessableEntity, u, problems["confirm"])
		case err != nil:
			p.Fail(w, r, err)
		default:
			p.Flash(w, views.Flash{Kind: "success", Message: "The account " + u.Email + " is deleted; its owner is told by email."})
			http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
		}
	})
}

// adminAction runs an action on the user named in the path, ends their
// sessions (a deactivation or role change applies to a fresh session) and
// returns to their page.
func adminAction(p *response.Pages, a *auth, action func(r *http.Request, actor, target string) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		target := r.PathValue("id")
		message, err := action(r, currentUser(r).ID, target)
		switch {
		case errors.Is(err, accounts.ErrNotFound):
			p.Error(w, r, http.StatusNotFound)
			return
		case errors.Is(err, accounts.ErrSelf):
			p.ErrorText(w, r, http.StatusConflict, "Not on your own account", "Ask another administrator to change your role or status.")
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		if err := a.Sessions.EndAll(r.Context(), target); err != nil {
			p.Fail(w, r, err)
			return
		}
		p.Flash(w, views.Flash{Kind: "success", Message: message})
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(target), http.StatusSeeOther)
	})
}

func handleAdminSetActive(p *response.Pages, a *auth) http.Handler {
	return adminAction(p, a, func(r *http.Request, actor, target string) (string, error) {
		active := r.PostForm.Get("active") == "true"
		if err := a.Users.SetActive(r.Context(), actor, target, active); err != nil {
			return "", err
		}
		if active {
			return "The account is active again.", nil
		}
		return "The account is deactivated and signed out everywhere.", nil
	})
}

func handleAdminSetRole(p *response.Pages, a *auth) http.Handler {
	return adminAction(p, a, func(r *http.Request, actor, target string) (string, error) {
		role := accounts.Role(r.PostForm.Get("role"))
		if role != accounts.RoleUser && role != accounts.RoleAdmin {
			return "", accounts.ErrNotFound
		}
		if err := a.Users.SetRole(r.Context(), actor, target, role); err != nil {
			return "", err
		}
		return "The role is now " + string(role) + ".", nil
	})
}

// adminMessages is what templates/admin/messages.html shows.
type adminMessages struct{ Messages []contact.Message }

func handleAdminMessages(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msgs, err := a.Messages.Recent(r.Context(), 200)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		p.Page(w, r, http.StatusOK, "admin/messages", views.Page{Title: "Contact messages", Data: adminMessages{msgs}})
	})
}

// adminOutbox is what templates/admin/outbox.html shows.
type adminOutbox struct{ Emails []mail.Queued }

// handleAdminOutbox lists the email outbox, in development only: in
// production the messages hold live links to people's accounts.
func handleAdminOutbox(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.development {
			p.Error(w, r, http.StatusNotFound)
			return
		}
		queued, err := a.Outbox.Recent(r.Context(), 100)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		p.Page(w, r, http.StatusOK, "admin/outbox", views.Page{Title: "Email outbox", Data: adminOutbox{queued}})
	})
}
