package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// The API-key pages of a user's settings: list, create, revoke.

// keysPage is what templates/credits/keys.html shows.
type keysPage struct {
	Keys    []apikeys.Key
	Created *apikeys.Key
	Token   string
	Problem string
}

func (c *Credits) renderKeys(w http.ResponseWriter, r *http.Request, p *response.Pages, status int, data keysPage) {
	keys, err := c.Keys.List(r.Context(), currentUser(r).ID)
	if err != nil {
		p.Fail(w, r, err)
		return
	}
	data.Keys = keys
	// The page that shows a new key's secret must never be cached.
	w.Header().Set("Cache-Control", "no-store")
	p.Page(w, r, status, "credits/keys", views.Page{Title: "API keys", Data: data})
}

func handleAPIKeys(p *response.Pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.renderKeys(w, r, p, http.StatusOK, keysPage{})
	})
}

// handleAPIKeyCreate makes a key after a recent password entry, as an
// email or password change needs (a key is a lasting credential), and
// tells the user by email in the key's own transaction.
func handleAPIKeyCreate(p *response.Pages, a *auth, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) || !a.requireFresh(w, r, "/settings/api-keys") {
			return
		}
		u := *currentUser(r)
		key, token, err := c.Keys.Create(r.Context(), u.ID, r.PostForm.Get("name"), func(ctx context.Context, tx *database.Tx, k apikeys.Key) error {
			return a.Users.NotifyAPIKeyCreated(ctx, tx, u, k.Name, k.Prefix, k.CreatedAt)
		})
		if err != nil {
			if errors.Is(err, apikeys.ErrTooMany) || strings.HasPrefix(err.Error(), "give the key a name") {
				c.renderKeys(w, r, p, http.StatusUnprocessableEntity, keysPage{Problem: err.Error()})
				return
			}
			p.Fail(w, r, err)
			return
		}
		// Shown in this answer only: the secret is not stored anywhere it
		// could be shown again.
		c.renderKeys(w, r, p, http.StatusCreated, keysPage{Created: &key, Token: token})
	})
}

func handleAPIKeyRevoke(p *response.Pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		err := c.Keys.Revoke(r.Context(), currentUser(r).ID, r.PathValue("id"))
		if errors.Is(err, apikeys.ErrNotFound) {
			p.Error(w, r, http.StatusNotFound)
			return
		}
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		p.Flash(w, views.Flash{Kind: "success", Message: "The key is revoked: programs using it are refused from now on."})
		http.Redirect(w, r, "/settings/api-keys", http.StatusSeeOther)
	})
}
