package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// An entry is dated by its caller; one without a time is refused rather
// than stamped with the system clock.
func TestRecordNeedsATime(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, d)
			err := audit.Record(ctx, db, audit.Entry{ActorID: "a", TargetID: "b", Action: "user.promoted"})
			require.ErrorIs(t, err, audit.ErrUndated, "an undated entry was written")
			at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			require.NoError(t, audit.Record(ctx, db, audit.Entry{At: at, ActorID: "a", TargetID: "b", Action: "user.promoted"}))
			entries, err := audit.NewLog(db).Recent(ctx, "b", 10)
			require.NoError(t, err)
			require.Len(t, entries, 1, "entries = %+v, want the dated one only", entries)
			require.True(t, entries[0].At.Equal(at), "entry dated %s, want %s", entries[0].At, at)
		})
	}
}
