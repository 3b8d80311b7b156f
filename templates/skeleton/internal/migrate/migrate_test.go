package migrate_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
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
			appliedAt := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			m, err := migrate.New(db, clock.NewFake(appliedAt))
			require.NoError(t, err)
			require.GreaterOrEqual(t, m.Latest(), 1, "at least one embedded migration")
			assertVersion(t, m, 0)
			require.Error(t, m.Check(ctx), "Check on an empty database, want a SchemaError")

			applied, err := m.Up(ctx)
			require.NoError(t, err, "Up")
			require.Len(t, applied, m.Latest(), "Up applies every migration")
			assertVersion(t, m, m.Latest())
			require.NoError(t, m.Check(ctx), "Check after Up")
			_, err = db.ExecContext(ctx, "SELECT COUNT(*) FROM contact_messages")
			require.NoError(t, err, "contact_messages missing after Up")

			again, err := m.Up(ctx)
			require.NoError(t, err, "second Up")
			require.Empty(t, again, "second Up applies nothing")

			states, err := m.Status(ctx)
			require.NoError(t, err)
			require.Len(t, states, m.Latest(), "Status lists every migration")
			for _, s := range states {
				assert.True(t, s.Applied(), "Status: migration %d applied after Up", s.Version)
				assert.True(t, appliedAt.Equal(s.AppliedAt), "Status: migration %d applied at %s, by the migrator's clock", s.Version, s.AppliedAt)
			}

			for v := m.Latest(); v > 0; v-- {
				reverted, err := m.Down(ctx)
				require.NoError(t, err, "Down from %d", v)
				require.NotNil(t, reverted, "Down from %d", v)
				require.Equal(t, v, reverted.Version, "Down from %d reverts it", v)
				assertVersion(t, m, v-1)
			}
			_, err = db.ExecContext(ctx, "SELECT COUNT(*) FROM contact_messages")
			require.Error(t, err, "contact_messages still exists after reverting every migration")
			reverted, err := m.Down(ctx)
			require.NoError(t, err, "Down with nothing applied")
			require.Nil(t, reverted, "Down with nothing applied")
			states, err = m.Status(ctx)
			require.NoError(t, err)
			for _, s := range states {
				assert.False(t, s.Applied(), "Status: migration %d applied after reverting all", s.Version)
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
				require.NoError(t, err)
				t.Cleanup(func() { db.Close() })
				m, err := migrate.New(db, clock.System{})
				require.NoError(t, err)
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
			require.NoError(t, errors.Join(errs...), "concurrent Up failed")
			db, err := database.Open(ctx, url)
			require.NoError(t, err)
			defer db.Close()
			m, err := migrate.New(db, clock.System{})
			require.NoError(t, err)
			for v := 1; v <= m.Latest(); v++ {
				assert.Equal(t, 1, applied[v], "migration %d is applied exactly once", v)
			}
			require.NoError(t, m.Check(ctx), "Check after concurrent Up")
			var rows int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&rows))
			require.Equal(t, m.Latest(), rows, "schema_migrations rows")
		})
	}
}

// A database migrated by a newer build must stop this one.
func TestRefusesNewerSchema(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, dialect)
			m, err := migrate.New(db, clock.System{})
			require.NoError(t, err)
			future := m.Latest() + 1
			_, err = db.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, CURRENT_TIMESTAMP)", future, "from_the_future")
			require.NoError(t, err)
			var schema *migrate.SchemaError
			require.ErrorAs(t, m.Check(ctx), &schema, "Check")
			require.True(t, schema.Ahead(), "the SchemaError is Ahead")
			assert.Contains(t, schema.Error(), "newer build", "the error says how to fix it")
			_, err = m.Up(ctx)
			require.ErrorAs(t, err, &schema, "Up")
			_, err = m.Down(ctx)
			require.ErrorAs(t, err, &schema, "Down: this build cannot revert an unknown migration")
			states, err := m.Status(ctx)
			require.NoError(t, err)
			last := states[len(states)-1]
			require.Equal(t, future, last.Version, "Status lists the unknown version")
			require.True(t, last.Applied(), "Status lists the unknown version as applied")
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
			require.ErrorContains(t, err, tt.want)
		})
	}
	good := fstest.MapFS{"0001_a.up.sql": sql, "0001_a.down.sql": sql, "0002_b.up.sql": sql, "0002_b.down.sql": sql}
	migrations, err := migrate.Load(good)
	require.NoError(t, err, "Load(good)")
	require.Len(t, migrations, 2, "Load(good)")
	require.Equal(t, "b", migrations[1].Name, "Load(good)")
}

func assertVersion(t *testing.T, m *migrate.Migrator, want int) {
	t.Helper()
	got, err := m.Current(context.Background())
	require.NoError(t, err)
	require.Equal(t, want, got, "schema version")
}

// Migration 0009's down step refuses, writing nothing, when a charge was
// refunded in parts: its two reversals share a reference, which the
// unique index the step restores forbids.
func TestDown0009RefusesSharedReversals(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, dialect)
			l := credits.New(db, clock.System{})
			u := dbtest.NewUser(t, db)
			_, err := l.Add(ctx, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
			require.NoError(t, err)
			for _, total := range []int64{30, 100} {
				_, err := l.Reverse(ctx, credits.Reversal{UserID: u, Claim: "stripe-refund-ch_1", Total: total, NeverLower: true})
				require.NoError(t, err)
			}
			m, err := migrate.New(db, clock.System{})
			require.NoError(t, err)
			for v := m.Latest(); v > 9; v-- {
				_, err := m.Down(ctx)
				require.NoError(t, err, "down from %d", v)
			}
			_, err = m.Down(ctx)
			require.ErrorContains(t, err, "cannot revert migration 0009: the credit journal holds several refund or payment_reversal entries of one reference")
			assertVersion(t, m, 9)
			var debts int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_debts").Scan(&debts), "nothing reverted")
		})
	}
}
