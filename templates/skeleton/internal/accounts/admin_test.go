package accounts

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// The admin list: newest first, accounts made in the same instant by id,
// highest first (the order the users_created_at index holds, so a page far
// into a long list is read from it); a page past the end shows the last;
// a search matches part of an address or name, wildcards literally.
func TestListOrderAndPages(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, db := newUsers(t, d, Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
			ctx := context.Background()
			at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			add := func(id, name string, created time.Time) {
				t.Helper()
				email := id + "@example.com"
				_, err := db.ExecContext(ctx, `INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, email_verified_at, password_changed_at, created_at)
					VALUES (?, ?, ?, ?, 'x', 'user', TRUE, ?, ?, ?)`, id, email, email, name, created, created, created)
				require.NoError(t, err)
			}
			add("a", "Ada", at)
			add("c", "Cy", at.Add(time.Hour))
			add("b", "Bea", at.Add(time.Hour))
			add("d", "100%_sure", at.Add(2*time.Hour))

			ids := func(q Query) ([]string, UserList) {
				t.Helper()
				list, err := s.List(ctx, q)
				require.NoError(t, err)
				var out []string
				for _, u := range list.Users {
					out = append(out, u.ID)
				}
				return out, list
			}
			got, list := ids(Query{PerPage: 2})
			assert.Equal(t, []string{"d", "c"}, got, "page 1")
			assert.Equal(t, 4, list.Total)
			got, _ = ids(Query{PerPage: 2, Page: 2})
			assert.Equal(t, []string{"b", "a"}, got, "page 2: the tie by id, highest first")
			got, list = ids(Query{PerPage: 2, Page: 99})
			assert.Equal(t, []string{"b", "a"}, got, "a page past the end")
			assert.Equal(t, 2, list.Page)
			got, _ = ids(Query{Search: "BE"})
			assert.Equal(t, []string{"b"}, got, "part of a name, any case")
			got, _ = ids(Query{Search: "%_"})
			assert.Equal(t, []string{"d"}, got, "wildcards match themselves")
			got, _ = ids(Query{Search: "zzz"})
			assert.Empty(t, got, "nothing matches")
		})
	}
}
