package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Tx is the transaction of a batch. Besides running statements, it queues
// row writes that the batch sends once for all its operations, and hooks
// that run once the batch has flushed.
type Tx struct {
	*database.Tx
	// grouped: rows queued through Queue are written together at the end;
	// otherwise each at once.
	grouped bool
	queued  []queuedRows
	after   []afterHook
	// op is the index of the operation being applied.
	op int
}

type afterHook struct {
	op int
	fn func(ctx context.Context) error
}

// After runs fn after the batch's Flush, in operation order, as part of the
// operation being applied: an error or panic from fn fails that operation.
func (t *Tx) After(fn func(ctx context.Context) error) {
	t.after = append(t.after, afterHook{t.op, fn})
}

// Rows is a write of one row per operation that a batch sends as one
// statement for all the operations that queue it: Head, then Row once per
// row (comma-separated), then Tail. Declare each as a package variable:
// rows are grouped by the *Rows they were queued with.
//
//	var recordRun = &groupcommit.Rows{What: "record the run",
//		Head: "INSERT INTO runs (id, user_id) VALUES ", Row: "(?, ?)"}
type Rows struct {
	What            string // what it does, for errors
	Head, Row, Tail string
}

// Queue adds a row to rows, to be written after every operation of the
// batch has run, before it commits: a later statement of the same batch
// does not see it. When a batch's grouped statement fails, the batch is
// rolled back and runs again with every row written at once, by Queue
// itself, so that the operation whose row fails is found, answered with
// the error and left out.
func (t *Tx) Queue(ctx context.Context, rows *Rows, args ...any) error {
	if n := strings.Count(rows.Row, "?"); n != len(args) {
		return fmt.Errorf("%s: %d values for a row of %d", rows.What, len(args), n)
	}
	if !t.grouped {
		_, err := t.ExecContext(ctx, rows.Head+rows.Row+rows.Tail, args...)
		return rowsError(rows, err)
	}
	i := slices.IndexFunc(t.queued, func(q queuedRows) bool { return q.rows == rows })
	if i < 0 {
		i = len(t.queued)
		t.queued = append(t.queued, queuedRows{rows: rows})
	}
	t.queued[i].args = append(t.queued[i].args, args)
	return nil
}

type queuedRows struct {
	rows *Rows
	args [][]any // one slice per row
}

// Limits of one statement: rows, well under both databases' limits, and
// values, SQLite's default limit on bound parameters (PostgreSQL's is
// twice as many).
const (
	maxRows = 500
	maxArgs = 32766
)

// errGrouped marks the failure of a grouped statement, which belongs to no
// one operation: the batch runs again without grouping.
var errGrouped = errors.New("a grouped write failed")

// writeQueued writes the queued rows, each Rows as few statements as the
// limits allow, in the order each was first queued.
func (t *Tx) writeQueued(ctx context.Context) error {
	for _, q := range t.queued {
		perRow := len(q.args[0])
		for chunk := range slices.Chunk(q.args, max(1, min(maxRows, maxArgs/max(perRow, 1)))) {
			args := make([]any, 0, perRow*len(chunk))
			for _, row := range chunk {
				args = append(args, row...)
			}
			if _, err := t.ExecContext(ctx, q.rows.Head+database.Marks(len(chunk), q.rows.Row)+q.rows.Tail, args...); err != nil {
				return fmt.Errorf("%w: %w", errGrouped, rowsError(q.rows, err))
			}
		}
	}
	t.queued = t.queued[:0]
	return nil
}

func rowsError(rows *Rows, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", rows.What, err)
	}
	return nil
}
