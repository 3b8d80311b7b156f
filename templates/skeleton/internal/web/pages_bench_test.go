package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// BenchmarkRenderedPages measures pages that render for every request, as
// opposed to the visitor pages served from memory (BenchmarkHomePage,
// BenchmarkLoginPage/*/form): what the template engine costs.
func BenchmarkRenderedPages(b *testing.B) {
	a := migratedApp(b, database.SQLite)
	admin := makeAdmin(b, a, "render@example.com")
	for _, tc := range []struct {
		path string
		as   *client
	}{
		{"/login?next=/credits", a.client()},
		{"/dashboard", admin},
		{"/credits", admin},
		{"/settings", admin},
	} {
		b.Run(tc.path, func(b *testing.B) {
			r := get(tc.path)
			for _, ck := range tc.as.cookies {
				r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				a.handler.ServeHTTP(rec, r)
				require.Equal(b, http.StatusOK, rec.Code, "GET %s = %d", tc.path, rec.Code)
			}
		})
	}
}
