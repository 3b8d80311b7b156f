package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/text"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/api"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// refuseUnstorable answers a path no database can store (a NUL byte,
// bytes that are not UTF-8) with 404, as no such page can exist, and such
// a query parameter with 400 naming it, before any handler passes them to
// SQL: PostgreSQL would fail where SQLite answers. The API answers in its
// own format. Form fields are checked by form.Parse, JSON fields by the
// API's decoder.
func refuseUnstorable(p *response.Pages, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inAPI := strings.HasPrefix(r.URL.Path, "/api/")
		if !text.Storable(r.URL.Path) {
			if inAPI {
				api.NotFound().ServeHTTP(w, r)
			} else {
				p.Error(w, r, http.StatusNotFound)
			}
			return
		}
		// A malformed escape is dropped by r.URL.Query() as here, so only
		// what handlers can read is checked.
		query, _ := url.ParseQuery(r.URL.RawQuery)
		if name := text.Unstorable(query); name != "" {
			if inAPI {
				api.InvalidText(w, fmt.Sprintf("the query parameter %q", name))
			} else {
				p.ErrorText(w, r, http.StatusBadRequest, "That address could not be read", unstorableMessage("parameter", name))
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}
