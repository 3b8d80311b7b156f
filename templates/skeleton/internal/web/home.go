package web

import (
	"net/http"

	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// The public pages that show no data: home, about and the 404 page.

func handleHome(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Page(w, r, http.StatusOK, "home", views.Page{
			Description: "Fast, secure, server-rendered web application.",
		})
	})
}

func handleAbout(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Page(w, r, http.StatusOK, "about", views.Page{
			Title:       "About",
			Description: "Who we are and how the product is built.",
		})
	})
}

func handleNotFound(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Error(w, r, http.StatusNotFound)
	})
}
