package credits

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Tx is the transaction of a batch as the callers' own writes get it
// (ConsumeWith's also, Write's fn). Besides running statements, it queues
// row writes that the batch sends once for all its operations.
type Tx struct {
	*database.Tx
	b *batch
}

// Rows is a write of one row per operation that a batch sends as one
// statement for all the operations that queue it: Head, then Row once per
// row (comma-separated), then Tail. Declare each as a package variable:
// rows are grouped by the *Rows they were queued with.
//
//	var recordRun = &credits.Rows{What: "record the run",
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
	if !t.b.grouped {
		_, err := t.ExecContext(ctx, rows.Head+rows.Row+rows.Tail, args...)
		return rowsError(rows, err)
	}
	i := slices.IndexFunc(t.b.queued, func(q queuedRows) bool { return q.rows == rows })
	if i < 0 {
		i = len(t.b.queued)
		t.b.queued = append(t.b.queued, queuedRows{rows: rows})
	}
	t.b.queued[i].args = append(t.b.queued[i].args, args)
	return nil
}

type queuedRows struct {
	rows *Rows
	args [][]any // one slice per row
}

// maxArgs bounds the values of one statement: SQLite's default limit on
// bound parameters (PostgreSQL's is twice as many).
const maxArgs = 32766

// errGrouped marks the failure of a grouped statement, which belongs to no
// one operation: the batch runs again without grouping.
var errGrouped = errors.New("a grouped write failed")

// writeQueued writes the queued rows, each Rows as few statements as the
// limits allow, in the order each was first queued.
func (b *batch) writeQueued(ctx context.Context) error {
	for _, q := range b.queued {
		perRow := len(q.args[0])
		for chunk := range slices.Chunk(q.args, max(1, min(flushRows, maxArgs/max(perRow, 1)))) {
			args := make([]any, 0, perRow*len(chunk))
			for _, row := range chunk {
				args = append(args, row...)
			}
			if _, err := b.tx.ExecContext(ctx, q.rows.Head+database.Marks(len(chunk), q.rows.Row)+q.rows.Tail, args...); err != nil {
				return fmt.Errorf("%w: %w", errGrouped, rowsError(q.rows, err))
			}
		}
	}
	b.queued = b.queued[:0]
	return nil
}

func rowsError(rows *Rows, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", rows.What, err)
	}
	return nil
}
