package credits

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/groupcommit"
)

// batch is what one transaction of the group commit knows of the accounts
// it has locked. Debits and expiries are worked out in memory against that
// knowledge and written for the whole batch at once, a few statements
// however many operations there are; the rarer operations (credits in,
// refunds, reversals, settings) write with their own statements, after the
// batch's pending writes and forgetting what the batch knew of their
// account.
type batch struct {
	l  *Ledger
	tx *groupcommit.Tx
	// locks are the users whose accounts the batch's operations write;
	// keys are the idempotency keys their debits carry, by user: both are
	// looked up all at once.
	locks    []string
	keys     map[string][]string
	accounts map[string]*account

	// Writes not sent yet.
	entries []Entry
	drains  []drainRow
	lots    []*lot
	dirty   []*account
}

// account is a locked account as the batch knows it.
type account struct {
	user    string
	exists  bool
	balance int64
	notice  lowNotice
	lots    []*lot           // open lots, in drain order
	keyed   map[string]Entry // entries under the batch's keys
	dirty   bool
}

// lot is an open credit lot.
type lot struct {
	id        string
	remaining int64
	expires   time.Time // zero: never
	dirty     bool
}

type drainRow struct {
	journalID, lotID string
	amount           int64
}

func newBatch(l *Ledger, tx *groupcommit.Tx) *batch {
	return &batch{l: l, tx: tx, keys: map[string][]string{}, accounts: map[string]*account{}}
}

// declare says an operation writes the user's account, with a debit's
// idempotency key (or "").
func (b *batch) declare(user, key string) {
	b.locks = append(b.locks, user)
	if key != "" {
		b.keys[user] = append(b.keys[user], key)
	}
}

// Prepare locks, in user id order, the accounts the operations declared,
// and loads them.
func (b *batch) Prepare(ctx context.Context) error {
	slices.Sort(b.locks)
	return b.load(ctx, slices.Compact(b.locks))
}

// account returns the user's account, locking and loading it if the batch
// does not know it (yet, or any more).
func (b *batch) account(ctx context.Context, user string) (*account, error) {
	if a, ok := b.accounts[user]; ok {
		return a, nil
	}
	if err := b.load(ctx, []string{user}); err != nil {
		return nil, err
	}
	return b.accounts[user], nil
}

// load locks and reads the users' accounts, their open lots and their
// entries under the batch's keys: three statements for any number.
func (b *batch) load(ctx context.Context, users []string) error {
	if len(users) == 0 {
		return nil
	}
	in, args := inList(users)
	query := "SELECT user_id, balance, low_balance_threshold, low_balance_notified FROM credit_accounts WHERE user_id IN (" + in + ") ORDER BY user_id"
	if b.l.db.Dialect() == database.Postgres {
		query += " FOR UPDATE"
	}
	for _, u := range users {
		b.accounts[u] = &account{user: u, keyed: map[string]Entry{}}
	}
	err := b.each(ctx, "lock the credit accounts", func(rows *sql.Rows) error {
		var u string
		var n lowNotice
		var balance int64
		if err := rows.Scan(&u, &balance, &n.threshold, &n.sent); err != nil {
			return err
		}
		a := b.accounts[u]
		a.exists, a.balance, a.notice = true, balance, n
		return nil
	}, query, args...)
	if err != nil {
		return err
	}
	err = b.each(ctx, "read credit lots", func(rows *sql.Rows) error {
		var u string
		var x lot
		var expires sql.NullTime
		if err := rows.Scan(&u, &x.id, &x.remaining, &expires); err != nil {
			return err
		}
		x.expires = expires.Time
		a := b.accounts[u]
		a.lots = append(a.lots, &x)
		return nil
	}, `SELECT user_id, id, remaining, expires_at FROM credit_lots WHERE user_id IN (`+in+`) AND open
		ORDER BY user_id, priority, CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, seq`, args...)
	if err != nil {
		return err
	}
	// Exact pairs, each a probe of the (user_id, idempotency_key) index:
	// two IN lists would also match every key of every user, and the
	// planner may prefer scanning the users' whole journals.
	var pairs []string
	args = args[:0]
	for _, u := range users {
		for _, k := range b.keys[u] {
			pairs = append(pairs, "(user_id = ? AND idempotency_key = ?)")
			args = append(args, u, k)
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	return b.each(ctx, "look up the idempotency keys", func(rows *sql.Rows) error {
		e, err := scanEntry(rows)
		if err != nil {
			return err
		}
		b.accounts[e.UserID].keyed[e.IdempotencyKey] = e
		return nil
	}, selectEntry+" WHERE "+strings.Join(pairs, " OR "), args...)
}

func (b *batch) each(ctx context.Context, what string, fn func(*sql.Rows) error, query string, args ...any) error {
	rows, err := b.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// inList returns a ? for each value, comma-separated, and the values as
// arguments.
func inList(values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return database.Marks(len(values), "?"), args
}

// debit takes d.Amount credits from the user's account: it replays an
// earlier use of the key, expires due lots, refuses when the balance is
// too low, and otherwise lowers the balance, drains the lots (in drain
// order) and records the entry, all in memory until the batch flushes.
func (b *batch) debit(ctx context.Context, d Debit, kind Kind, actorID, reason string, hook afterWrite) (Result, error) {
	now := b.l.utcNow()
	a, err := b.account(ctx, d.UserID)
	if err != nil {
		return Result{}, err
	}
	if !a.exists {
		// No account, so no credits and no earlier use of the key.
		return Result{}, groupcommit.Refuse(&InsufficientError{Balance: 0, Required: d.Amount})
	}
	if d.IdempotencyKey != "" {
		if e, ok := a.keyed[d.IdempotencyKey]; ok {
			return replayOf(e, Entry{Kind: kind, Amount: -d.Amount, Service: d.Service, Reference: d.Reference})
		}
	}
	b.expireLots(a, now)
	if a.balance < d.Amount {
		// The expiries are true whatever this debit does: they stay, and
		// the refusal leaves the rest of the batch alone.
		return Result{}, groupcommit.Refuse(&InsufficientError{Balance: a.balance, Required: d.Amount})
	}
	a.balance -= d.Amount
	b.touch(a)
	e := Entry{ID: rand.Text(), UserID: d.UserID, Kind: kind, Amount: -d.Amount, BalanceAfter: a.balance, Service: d.Service,
		Reference: d.Reference, IdempotencyKey: d.IdempotencyKey, ActorID: actorID, Reason: reason, CreatedAt: now}
	b.entries = append(b.entries, e)
	if e.IdempotencyKey != "" {
		a.keyed[e.IdempotencyKey] = e
	}
	left := d.Amount
	for _, x := range drainOrder(a.lots, d.firstLot) {
		if left == 0 {
			break
		}
		n := min(x.remaining, left)
		x.remaining -= n
		left -= n
		b.touchLot(x)
		b.drains = append(b.drains, drainRow{journalID: e.ID, lotID: x.id, amount: n})
	}
	if left > 0 {
		return Result{}, fmt.Errorf("the credit lots of %s hold %d credits fewer than the balance: run \"credits check\"", d.UserID, left)
	}
	a.lots = slices.DeleteFunc(a.lots, func(x *lot) bool { return x.remaining == 0 })
	if b.l.onLow != nil && a.notice.crossed(a.balance) {
		a.notice.sent = true
		balance, threshold := a.balance, a.notice.threshold
		b.tx.After(func(ctx context.Context) error { return b.l.onLow(ctx, b.tx.Tx, d.UserID, balance, threshold) })
	}
	res := Result{Entry: e, Balance: a.balance}
	if hook != nil {
		b.tx.After(func(ctx context.Context) error { return hook(ctx, b.tx, res) })
	}
	return res, nil
}

// drainOrder is the order a debit drains the lots in: the account's
// (priority, then age), with the lot named first put before the others.
func drainOrder(lots []*lot, first string) []*lot {
	i := slices.IndexFunc(lots, func(x *lot) bool { return x.id == first })
	if first == "" || i <= 0 {
		return lots
	}
	return slices.Concat(lots[i:i+1], lots[:i], lots[i+1:])
}

// expire empties the user's lots that are past their expiry, writes it out
// and returns the balance.
func (b *batch) expire(ctx context.Context, user string, now time.Time) (int64, error) {
	a, err := b.account(ctx, user)
	if err != nil {
		return 0, err
	}
	b.expireLots(a, now)
	return a.balance, b.Flush(ctx)
}

// expireLots empties a's lots that are past their expiry, one expiry entry
// per lot.
func (b *batch) expireLots(a *account, now time.Time) {
	a.lots = slices.DeleteFunc(a.lots, func(x *lot) bool {
		if x.expires.IsZero() || x.expires.After(now) {
			return false
		}
		a.balance -= x.remaining
		b.entries = append(b.entries, Entry{ID: rand.Text(), UserID: a.user, Kind: KindExpiry, Amount: -x.remaining,
			BalanceAfter: a.balance, LotID: x.id, CreatedAt: now})
		x.remaining = 0
		b.touchLot(x)
		b.touch(a)
		return true
	})
}

func (b *batch) touch(a *account) {
	if !a.dirty {
		a.dirty = true
		b.dirty = append(b.dirty, a)
	}
}

func (b *batch) touchLot(x *lot) {
	if !x.dirty {
		x.dirty = true
		b.lots = append(b.lots, x)
	}
}

// direct runs an operation that writes the user's account with its own
// statements: the pending writes go out first, and what the batch knew of
// the account is forgotten before and after.
func (b *batch) direct(ctx context.Context, user string, fn func() (Result, error)) (Result, error) {
	if err := b.Flush(ctx); err != nil {
		return Result{}, err
	}
	delete(b.accounts, user)
	defer delete(b.accounts, user)
	return fn()
}

// Rows per statement when flushing: well under both databases' limits on
// bound parameters.
const flushRows = 500

// Flush writes the pending entries, drains, lots and balances.
func (b *batch) Flush(ctx context.Context) error {
	if err := insertEntries(ctx, b.tx.Tx, b.entries); err != nil {
		return err
	}
	for chunk := range slices.Chunk(b.drains, flushRows) {
		args := make([]any, 0, 3*len(chunk))
		for _, d := range chunk {
			args = append(args, d.journalID, d.lotID, d.amount)
		}
		if _, err := b.tx.ExecContext(ctx, "INSERT INTO credit_drains (journal_id, lot_id, amount) VALUES "+database.Marks(len(chunk), "(?, ?, ?)"), args...); err != nil {
			return fmt.Errorf("record drained lots: %w", err)
		}
	}
	// Absolute values, worked out under the account locks; the tables'
	// CHECK constraints still refuse a negative balance or lot.
	for chunk := range slices.Chunk(b.lots, flushRows) {
		args := make([]any, 0, 2*len(chunk))
		for _, x := range chunk {
			args = append(args, x.id, x.remaining)
			x.dirty = false
		}
		if _, err := b.tx.ExecContext(ctx, "WITH v (id, remaining) AS (VALUES "+database.Marks(len(chunk), "(?, CAST(? AS BIGINT))")+
			") UPDATE credit_lots SET remaining = v.remaining FROM v WHERE credit_lots.id = v.id", args...); err != nil {
			return fmt.Errorf("update credit lots: %w", err)
		}
	}
	for chunk := range slices.Chunk(b.dirty, flushRows) {
		args := make([]any, 0, 3*len(chunk)+1)
		for _, a := range chunk {
			args = append(args, a.user, a.balance, a.notice.sent)
			a.dirty = false
		}
		args = append(args, b.l.utcNow())
		if _, err := b.tx.ExecContext(ctx, "WITH v (user_id, balance, notified) AS (VALUES "+database.Marks(len(chunk), "(?, CAST(? AS BIGINT), CAST(? AS BOOLEAN))")+
			") UPDATE credit_accounts SET balance = v.balance, low_balance_notified = v.notified, updated_at = ? FROM v WHERE credit_accounts.user_id = v.user_id", args...); err != nil {
			return fmt.Errorf("update balances: %w", err)
		}
	}
	b.entries, b.drains, b.lots, b.dirty = b.entries[:0], b.drains[:0], b.lots[:0], b.dirty[:0]
	return nil
}

// insertEntries appends entries to the journal, in order.
func insertEntries(ctx context.Context, tx *database.Tx, entries []Entry) error {
	for chunk := range slices.Chunk(entries, flushRows) {
		args := make([]any, 0, 12*len(chunk))
		for _, e := range chunk {
			var key any
			if e.IdempotencyKey != "" {
				key = e.IdempotencyKey
			}
			args = append(args, e.ID, e.UserID, string(e.Kind), e.Amount, e.BalanceAfter, e.Service, e.Reference, key, e.ActorID, e.Reason, e.LotID, e.CreatedAt)
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO credit_journal (id, user_id, kind, amount, balance_after, service, reference, idempotency_key, actor_id, reason, lot_id, created_at)
			 VALUES `+database.Marks(len(chunk), "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), args...)
		if err != nil {
			return fmt.Errorf("append to the credit journal: %w", err)
		}
	}
	return nil
}
