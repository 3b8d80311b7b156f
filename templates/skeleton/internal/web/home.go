package web

import (
	"net/http"

	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// The public pages that show no data: home, about and the 404 page.

func handleHome(p *response.Pages) http.Handler {
	return fixed(p.Fixed("/", "home", views.Page{
		Description: "Fast, secure, server-rendered web application.",
	}))
}

func handleAbout(p *response.Pages) http.Handler {
	return fixed(p.Fixed("/about", "about", views.Page{
		Title:       "About",
		Description: "Who we are and how the product is built.",
	}))
}

// fixed serves a page that shows nothing of the request.
func fixed(page *response.FixedPage) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page.Serve(w, r, http.StatusOK)
	})
}

func handleNotFound(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Error(w, r, http.StatusNotFound)
	})
}
