package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// The pages served from memory to visitors (home, about, login) are the
// pages as they render, gzipped or not, and whatever a request adds to
// them still shows: the signed-in user, a flash, the page to go on to, the
// new year.
func TestFixedPagesShowWhatTheRequestAdds(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			a := newApp(t, dialect, options{migrated: true})
			for _, path := range []string{"/", "/about", "/login"} {
				// A flash cookie, even one whose signature fails, makes
				// the page render for the request.
				c := a.client()
				c.cookies["flash"] = &http.Cookie{Name: "flash", Value: "forged.sig"}
				resp, rendered := c.get(path)
				require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s with a flash cookie", path)
				for _, encoding := range []string{"", "gzip"} {
					r := get(path)
					r.Header.Set("Accept-Encoding", encoding)
					resp, fromMemory := a.do(r)
					assert.Equal(t, encoding, resp.Header.Get("Content-Encoding"), "GET %s, Accept-Encoding %q", path, encoding)
					assert.Equal(t, rendered, fromMemory, "GET %s, Accept-Encoding %q: the page from memory differs from the page rendered", path, encoding)
				}
			}

			c := makeAdmin(t, a, "fixed@example.com")
			for _, path := range []string{"/", "/about"} {
				_, body := c.get(path)
				assert.True(t, strings.Contains(body, "fixed@example.com"), "GET %s signed in: the navigation names the user", path)
			}
			resp, _ := c.post("/logout", nil)
			wantRedirect(t, resp, http.StatusSeeOther, "/")
			_, body := c.get("/")
			assert.True(t, strings.Contains(body, "You are logged out."), "GET / after logout: the flash shows")
			_, body = c.get("/")
			assert.False(t, strings.Contains(body, "You are logged out."), "GET / again: the flash showed once")

			_, body = a.client().get("/login?next=/credits")
			assert.True(t, strings.Contains(body, `name="next" value="/credits"`), "GET /login?next=: the form carries where to go on to")

			now := a.clock.Now()
			a.clock.Set(time.Date(now.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC))
			_, body = a.client().get("/")
			assert.True(t, strings.Contains(body, fmt.Sprintf("© %d ", now.Year()+1)), "GET / in a new year: the footer shows it")
		})
	}
}
