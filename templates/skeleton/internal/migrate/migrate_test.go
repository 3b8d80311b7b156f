package migrate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestUpDownStatus(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.OpenEmpty(t, dialect)
			m, err := migrate.New(db)
			if err != nil {
				t.Fatal(err)
			}
			if m.Latest() < 1 {
				t.Fatalf("Latest() = %d, want at least one embedded migration", m.Latest())
			}
			assertVersion(t, m, 0)
			if err := m.Check(ctx); err == nil {
				t.Fatal("Check on an empty database = nil, want a SchemaError")
			}

			applied, err := m.Up(ctx)
			if err != nil {
				t.Fatalf("Up: %v", err)
			}
			if len(applied) != m.Latest() {
				t.Fatalf("Up applied %d migrations, want %d", len(applied), m.Latest())
			}
			assertVersion(t, m, m.Latest())
			if err := m.Check(ctx); err != nil {
				t.Fatalf("Check after Up: %v", err)
			}
			if _, err := db.ExecContext(ctx, "SELECT COUNT(*) FROM contact_messages"); err != nil {
				t.Fatalf("contact_messages missing after Up: %v", err)
			}

			again, err := m.Up(ctx)
			if err != nil || len(again) != 0 {
				t.Fatalf("second Up = %d applied, %v; want 0, nil", len(again), err)
			}

			states, err := m.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(states) != m.Latest() {
				t.Fatalf("Status lists %d migrations, want %d", len(states), m.Latest())
			}
			for _, s := range states {
				if !s.Applied() {
					t.Errorf("Status: migration %d not applied after Up", s.Version)
				}
			}

			for v := m.Latest(); v > 0; v-- {
				reverted, err := m.Down(ctx)
				if err != nil {
					t.Fatalf("Down from %d: %v", v, err)
				}
				if reverted == nil || reverted.Version != v {
					t.Fatalf("Down from %d reverted %+v", v, reverted)
				}
				assertVersion(t, m, v-1)
			}
			if _, err := db.ExecContext(ctx, "SELECT COUNT(*) FROM contact_messages"); err == nil {
				t.Fatal("contact_messages still exists after reverting every migration")
			}
			if reverted, err := m.Down(ctx); err != nil || reverted != nil {
				t.Fatalf("Down with nothing applied = %+v, %v; want nil, nil", reverted, err)
			}
			states, err = m.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range states {
				if s.Applied() {
					t.Errorf("Status: migration %d applied after reverting all", s.Version)
				}
			}
		})
	}
}

// Two processes running `migrate up` at once: one applies each migration,
// the other finds it applied; neither fails and the schema is whole.
func TestConcurrentUp(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			url := dbtest.URL(t, dialect)
			const runners = 4
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				applied = map[int]int{}
				errs    []error
			)
			for range runners {
				// Separate pools, as separate processes would have.
				db, err := database.Open(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				m, err := migrate.New(db)
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					done, err := m.Up(ctx)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
					}
					for _, mig := range done {
						applied[mig.Version]++
					}
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("concurrent Up failed: %v", err)
			}
			db, err := database.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			m, err := migrate.New(db)
			if err != nil {
				t.Fatal(err)
			}
			for v := 1; v <= m.Latest(); v++ {
				if applied[v] != 1 {
					t.Errorf("migration %d applied %d times, want exactly once", v, applied[v])
				}
			}
			if err := m.Check(ctx); err != nil {
				t.Fatalf("Check after concurrent Up: %v", err)
			}
			var rows int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != m.Latest() {
				t.Fatalf("schema_migrations has %d rows, want %d", rows, m.Latest())
			}
		})
	}
}

// A database migrated by a newer build must stop this one.
func TestRefusesNewerSchema(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, dialect)
			m, err := migrate.New(db)
			if err != nil {
				t.Fatal(err)
			}
			future := m.Latest() + 1
			if _, err := db.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, CURRENT_TIMESTAMP)", future, "from_the_future"); err != nil {
				t.Fatal(err)
			}
			var schema *migrate.SchemaError
			if err := m.Check(ctx); !errors.As(err, &schema) || !schema.Ahead() {
				t.Fatalf("Check = %v, want a SchemaError that is Ahead", err)
			}
			if !strings.Contains(schema.Error(), "newer build") {
				t.Errorf("error %q does not say how to fix it", schema.Error())
			}
			if _, err := m.Up(ctx); !errors.As(err, &schema) {
				t.Fatalf("Up = %v, want a SchemaError", err)
			}
			if _, err := m.Down(ctx); !errors.As(err, &schema) {
				t.Fatalf("Down = %v, want a SchemaError (this build cannot revert an unknown migration)", err)
			}
			states, err := m.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if last := states[len(states)-1]; last.Version != future || !last.Applied() {
				t.Fatalf("Status does not list the unknown applied version %d: %+v", future, last)
			}
		})
	}
}

func TestLoadRejectsBadSets(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	tests := map[string]struct {
		files fstest.MapFS
		want  string
	}{
		"gap": {fstest.MapFS{
			"0001_a.up.sql": sql, "0001_a.down.sql": sql,
			"0003_c.up.sql": sql, "0003_c.down.sql": sql,
		}, "missing"},
		"no down":   {fstest.MapFS{"0001_a.up.sql": sql}, "both"},
		"bad name":  {fstest.MapFS{"create_users.sql": sql}, "not named"},
		"no number": {fstest.MapFS{"abc_users.up.sql": sql}, "version number"},
		"two names": {fstest.MapFS{"0001_a.up.sql": sql, "0001_b.down.sql": sql}, "two names"},
		"empty":     {fstest.MapFS{"0001_a.up.sql": sql, "0001_a.down.sql": {Data: []byte("  \n")}}, "both"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := migrate.Load(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	good := fstest.MapFS{"0001_a.up.sql": sql, "0001_a.down.sql": sql, "0002_b.up.sql": sql, "0002_b.down.sql": sql}
	migrations, err := migrate.Load(good)
	if err != nil || len(migrations) != 2 || migrations[1].Name != "b" {
		t.Fatalf("Load(good) = %+v, %v", migrations, err)
	}
}

func assertVersion(t *testing.T, m *migrate.Migrator, want int) {
	t.Helper()
	got, err := m.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("schema version = %d, want %d", got, want)
	}
}
