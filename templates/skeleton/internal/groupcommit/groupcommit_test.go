package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/groupcommit"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// notes is a batch that writes one row per operation, queued.
type notes struct {
	tx       *groupcommit.Tx
	declared []string
	flushed  bool
}

func (n *notes) Prepare(context.Context) error { return nil }
func (n *notes) Flush(context.Context) error   { n.flushed = true; return nil }

var recordNote = &groupcommit.Rows{What: "record the note", Head: "INSERT INTO notes (id) VALUES ", Row: "(?)"}

func newCommitter(t *testing.T, dialect database.Dialect) (*groupcommit.Committer[*notes, string], *database.DB) {
	t.Helper()
	db := dbtest.OpenEmpty(t, dialect)
	_, err := db.ExecContext(context.Background(), "CREATE TABLE notes (id TEXT PRIMARY KEY)")
	require.NoError(t, err)
	return groupcommit.New[*notes, string](db, 64, func(tx *groupcommit.Tx) *notes { return &notes{tx: tx} }), db
}

func count(t *testing.T, db *database.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM notes").Scan(&n))
	return n
}

// TestFailuresAreAnsweredAlone: among concurrent operations, one that
// fails, panics, fails in its After hook or queues a row that cannot be
// written is answered with its error and leaves nothing behind; one that
// refuses gets its error and the batch goes on; every other is written
// once and answered after its commit.
func TestFailuresAreAnsweredAlone(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			c, db := newCommitter(t, dialect)
			_, err := db.ExecContext(context.Background(), "INSERT INTO notes (id) VALUES ('taken')")
			require.NoError(t, err)
			errFail, errRefused := errors.New("the operation failed"), errors.New("nothing to do")
			const n = 120
			results := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					id := fmt.Sprint("note-", i)
					_, results[i] = c.Submit(context.Background(), groupcommit.Op[*notes, string]{
						Key:     fmt.Sprint("key-", i%7),
						Declare: func(b *notes) { b.declared = append(b.declared, id) },
						Apply: func(ctx context.Context, b *notes) (string, error) {
							if len(b.declared) == 0 {
								return "", errors.New("Apply ran before Declare")
							}
							switch i % 6 {
							case 1:
								return "", errFail
							case 2:
								panic("a bug")
							case 3:
								b.tx.After(func(context.Context) error {
									if !b.flushed {
										return errors.New("After ran before Flush")
									}
									return errFail
								})
							case 4:
								return "", groupcommit.Refuse(errRefused)
							case 5:
								id = "taken"
							}
							return id, b.tx.Queue(ctx, recordNote, id)
						},
					})
				})
			}
			wg.Wait()
			written := 0
			for i, err := range results {
				switch i % 6 {
				case 0:
					assert.NoError(t, err, "operation %d", i)
					written++
				case 1, 3:
					assert.ErrorIs(t, err, errFail, "operation %d", i)
				case 2:
					assert.ErrorContains(t, err, "failed unexpectedly", "operation %d", i)
				case 4:
					assert.Equal(t, errRefused, err, "operation %d: the refusal, unwrapped", i)
				case 5:
					assert.ErrorContains(t, err, "record the note", "operation %d: its row's failure", i)
				}
			}
			assert.Equal(t, written+1, count(t, db), "rows: the written operations' and the one taken before")
		})
	}
}

// TestWithdrawnBeforeItsBatch: a caller that gives up while its operation
// waits behind a running batch withdraws it; it never runs.
func TestWithdrawnBeforeItsBatch(t *testing.T) {
	c, db := newCommitter(t, database.SQLite)
	inBatch, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := c.Submit(context.Background(), groupcommit.Op[*notes, string]{Key: "k", Apply: func(ctx context.Context, b *notes) (string, error) {
			close(inBatch)
			<-release
			return "", b.tx.Queue(ctx, recordNote, "first")
		}})
		first <- err
	}()
	<-inBatch
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	second := make(chan error, 1)
	go func() {
		_, err := c.Submit(ctx, groupcommit.Op[*notes, string]{Key: "k", Apply: func(context.Context, *notes) (string, error) {
			ran = true
			return "", nil
		}})
		second <- err
	}()
	cancel()
	require.ErrorIs(t, <-second, context.Canceled, "the withdrawn operation")
	close(release)
	require.NoError(t, <-first, "the operation in its batch when the other gave up")
	// The committer has finished the lane: the withdrawn operation would
	// have run by now.
	_, err := c.Submit(context.Background(), groupcommit.Op[*notes, string]{Key: "k", Apply: func(context.Context, *notes) (string, error) { return "", nil }})
	require.NoError(t, err)
	assert.False(t, ran, "a withdrawn operation ran")
	assert.Equal(t, 1, count(t, db))

	_, err = c.Submit(context.Background(), groupcommit.Op[*notes, string]{Apply: func(context.Context, *notes) (string, error) { return "", nil }})
	assert.ErrorContains(t, err, "no key", "an operation without a key")
}
