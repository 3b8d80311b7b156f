// Package credits is the credit ledger: every user's balance, the lots it is
// made of and the append-only journal of every movement. It is the only code
// that writes the credit_* tables.
//
// Every operation runs in a transaction that first locks the user's account
// row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write lock that BEGIN
// IMMEDIATE takes), so two operations on one account never interleave;
// concurrent operations share one transaction and one commit (the group
// commit of package groupcommit; batch.go is what a batch does here). A
// debit first looks up its idempotency key and returns the stored result on
// a replay, then expires due lots, then lowers the balance only where it
// stays at or above zero, drains lots (lowest priority number first, then
// soonest expiry, then oldest) and appends a journal row with balance_after.
// Nothing is ever updated in the journal: corrections are new rows.
//
// A write returns once its transaction has committed. A caller whose
// context ends while the operation still waits for its turn withdraws it
// (it never happens, and the call returns the context's error); once a
// transaction has taken it, it completes and the call returns its result.
package credits

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/groupcommit"
)

// Kind is what a journal entry records.
type Kind string

const (
	KindPurchase        Kind = "purchase"
	KindGrant           Kind = "grant"
	KindAdminDeduction  Kind = "admin_deduction"
	KindConsumption     Kind = "consumption"
	KindRefund          Kind = "refund"
	KindExpiry          Kind = "expiry"
	KindPaymentReversal Kind = "payment_reversal"
)

// Kinds lists every kind, in the order filters show them.
var Kinds = []Kind{KindPurchase, KindGrant, KindConsumption, KindRefund, KindExpiry, KindAdminDeduction, KindPaymentReversal}

// Label is the kind as people read it.
func (k Kind) Label() string {
	switch k {
	case KindAdminDeduction:
		return "admin deduction"
	case KindPaymentReversal:
		return "payment reversal"
	}
	return string(k)
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, known := range Kinds {
		if k == known {
			return true
		}
	}
	return false
}

// Default drain priorities: credits that expire go before those that do not,
// so a user never loses credits to expiry while holding permanent ones.
const (
	PriorityExpiring  = 10
	PriorityPermanent = 20
)

// MaxAmount bounds a single movement, far below what int64 sums overflow at.
const MaxAmount = 1_000_000_000

// Entry is one journal row. Amount is positive for credits in, negative for
// credits out; the amounts of a user's entries sum to their balance.
type Entry struct {
	ID             string
	UserID         string
	Kind           Kind
	Amount         int64
	BalanceAfter   int64
	Service        string
	Reference      string
	IdempotencyKey string
	ActorID        string
	Reason         string
	// LotID names the lot a purchase, grant or expiry created or emptied.
	LotID     string
	CreatedAt time.Time
}

// InsufficientError says a debit was refused because the balance is too low.
type InsufficientError struct {
	Balance  int64
	Required int64
}

func (e *InsufficientError) Error() string {
	return fmt.Sprintf("not enough credits: %d needed, %d available", e.Required, e.Balance)
}

// Errors callers turn into answers.
var (
	// ErrInsufficient matches every *InsufficientError through errors.Is.
	ErrInsufficient = errors.New("not enough credits")
	// ErrKeyReused: an idempotency key came back with a different request.
	ErrKeyReused = errors.New("this idempotency key was already used for a different request: send a new key for a new request")
	// ErrNotFound: no such journal entry for this user.
	ErrNotFound = errors.New("no such credit entry")
	// ErrAlreadyRefunded: the consumption was refunded already.
	ErrAlreadyRefunded = errors.New("this entry was already refunded")
)

// Is lets errors.Is(err, ErrInsufficient) match.
func (e *InsufficientError) Is(target error) bool { return target == ErrInsufficient }

// Ledger reads and writes the credit tables.
type Ledger struct {
	db      *database.DB
	clock   clock.Clock
	onLow   LowBalanceFunc
	commits *groupcommit.Committer[*batch, Result]
}

// maxBatch bounds one transaction: how long it holds its locks, and how
// much a failing operation makes the others redo. The key lookup ORs one
// term per debit, and SQLite refuses expressions deeper than 1000.
const maxBatch = 256

// New returns the ledger stored in db, whose expiries and entries go by
// clk. Use one Ledger per database in a process: operations share commits
// only within one.
func New(db *database.DB, clk clock.Clock) *Ledger {
	l := &Ledger{db: db, clock: clk}
	l.commits = groupcommit.New[*batch, Result](db, maxBatch, func(tx *groupcommit.Tx) *batch { return newBatch(l, tx) })
	return l
}

func (l *Ledger) utcNow() time.Time { return l.clock.Now().UTC() }

// Credit asks for credits to be added to a user's balance.
type Credit struct {
	UserID string
	Kind   Kind // KindPurchase or KindGrant
	Amount int64
	// Source says where the lot came from ("stripe", "signup", "admin").
	Source string
	// Priority orders draining (lower first); zero picks the default from
	// whether the lot expires.
	Priority  int
	ExpiresAt time.Time // zero: never
	Reference string
	// IdempotencyKey, when set, makes a repeated call return the first result.
	IdempotencyKey string
	ActorID        string
	Reason         string
}

// Debit asks for credits to be taken from a user's balance.
type Debit struct {
	UserID         string
	Amount         int64
	Service        string
	Reference      string
	IdempotencyKey string
	// firstLot is drained before the usual order: a reversal takes back
	// the refunded purchase's own credits first.
	firstLot string
}

// Result is the outcome of a movement: its entry and whether it was a replay
// of an earlier call with the same idempotency key.
type Result struct {
	Entry    Entry
	Replayed bool
	// Balance is the account's balance once the movement and what it set
	// off are done: credits coming in pay the account's debts first, so
	// it can be below Entry.BalanceAfter, by DebtPaid. On a replay it is
	// the balance the entry left.
	Balance  int64
	DebtPaid int64
}

func validAmount(n int64) error {
	if n <= 0 || n > MaxAmount {
		return fmt.Errorf("the amount must be a whole number of credits from 1 to %d, not %d", MaxAmount, n)
	}
	return nil
}

// Add credits a user: a purchase or a grant, as a new lot.
func (l *Ledger) Add(ctx context.Context, c Credit) (Result, error) {
	return l.add(ctx, c, nil)
}

// AddWith is Add with the caller's own write, also, in its transaction,
// after the journal row: the record of what the credits are for (a
// purchase marked paid) commits or rolls back with them. also does not run
// on a replay of the idempotency key, and may run more than once, as
// ConsumeWith's does: it must write only through tx.
func (l *Ledger) AddWith(ctx context.Context, c Credit, also func(ctx context.Context, tx *groupcommit.Tx, e Entry) error) (Result, error) {
	return l.add(ctx, c, withEntry(also))
}

// Consume takes credits for a service run. It fails with an
// *InsufficientError, leaving everything unchanged, when the balance is
// lower than the amount.
func (l *Ledger) Consume(ctx context.Context, d Debit) (Result, error) {
	return l.debit(ctx, d, KindConsumption, "", "", nil)
}

// ConsumeWith is Consume that also runs also in its transaction, after the
// journal row is written, so the caller's own record of what the credits
// pay for commits or rolls back with the charge. also does not run on a
// replay. An error from also undoes the charge. also may run more than
// once: when another operation of its batch fails, the batch is rolled
// back and run again without that one. So also must write only through tx,
// best by queueing its rows (groupcommit.Tx.Queue): the rows of a batch's
// operations then go out as one statement.
func (l *Ledger) ConsumeWith(ctx context.Context, d Debit, also func(ctx context.Context, tx *groupcommit.Tx, e Entry) error) (Result, error) {
	return l.debit(ctx, d, KindConsumption, "", "", withEntry(also))
}

// Adjustment is an administrator's manual change of a balance.
type Adjustment struct {
	UserID  string
	ActorID string
	Amount  int64 // positive adds, negative deducts
	Reason  string
}

// Adjust applies an administrator's change and records it in the audit log in
// the same transaction, with the balance before and after. A deduction
// larger than the balance is refused with an *InsufficientError.
func (l *Ledger) Adjust(ctx context.Context, a Adjustment) (Result, error) {
	a.Reason = strings.TrimSpace(a.Reason)
	if a.Reason == "" {
		return Result{}, errors.New("an adjustment needs a reason: say why the balance changes")
	}
	if a.ActorID == "" {
		return Result{}, errors.New("an adjustment needs the administrator who makes it")
	}
	if a.Amount == 0 {
		return Result{}, errors.New("an adjustment of zero credits changes nothing: enter a positive amount to add or a negative one to deduct")
	}
	record := func(ctx context.Context, tx *groupcommit.Tx, r Result) error {
		e, paid := r.Entry, ""
		if r.DebtPaid > 0 {
			paid = fmt.Sprintf("; %d paid the debt of reversed payments", r.DebtPaid)
		}
		return audit.Record(ctx, tx.Tx, audit.Entry{
			At: e.CreatedAt, ActorID: a.ActorID, TargetID: a.UserID, Action: "credits." + string(e.Kind),
			Detail: fmt.Sprintf("%+d credits (before %d, after %d%s): %s", e.Amount, e.BalanceAfter-e.Amount, r.Balance, paid, a.Reason),
		})
	}
	if a.Amount > 0 {
		if err := validAmount(a.Amount); err != nil {
			return Result{}, err
		}
		return l.add(ctx, Credit{UserID: a.UserID, Kind: KindGrant, Amount: a.Amount, Source: "admin",
			ActorID: a.ActorID, Reason: a.Reason}, record)
	}
	return l.debit(ctx, Debit{UserID: a.UserID, Amount: -a.Amount}, KindAdminDeduction, a.ActorID, a.Reason, record)
}

// afterWrite is a write of the caller's in the movement's transaction,
// given the movement's result.
type afterWrite func(ctx context.Context, tx *groupcommit.Tx, r Result) error

// withEntry makes a caller's write that wants only the entry an afterWrite.
func withEntry(also func(ctx context.Context, tx *groupcommit.Tx, e Entry) error) afterWrite {
	if also == nil {
		return nil
	}
	return func(ctx context.Context, tx *groupcommit.Tx, r Result) error { return also(ctx, tx, r.Entry) }
}

// add writes a credit lot and its entry, then runs hook (when set) in the
// same transaction.
func (l *Ledger) add(ctx context.Context, c Credit, hook afterWrite) (Result, error) {
	if c.Kind != KindPurchase && c.Kind != KindGrant {
		return Result{}, fmt.Errorf("credits can be added as a purchase or a grant, not %q", c.Kind)
	}
	if err := validAmount(c.Amount); err != nil {
		return Result{}, err
	}
	if c.Source == "" {
		c.Source = string(c.Kind)
	}
	if c.Priority == 0 {
		c.Priority = PriorityPermanent
		if !c.ExpiresAt.IsZero() {
			c.Priority = PriorityExpiring
		}
	}
	return l.submitDirect(ctx, c.UserID, func(ctx context.Context, b *batch) (Result, error) {
		return b.credit(ctx, c, hook)
	})
}

// credit writes c's lot and entry, pays the account's debts from it, and
// runs hook (when set), all in b's transaction.
func (b *batch) credit(ctx context.Context, c Credit, hook afterWrite) (Result, error) {
	l := b.l
	tx, now := b.tx.Tx, l.utcNow()
	if _, err := l.lockAccount(ctx, tx, c.UserID, now); err != nil {
		return Result{}, err
	}
	want := Entry{Kind: c.Kind, Amount: c.Amount, Reference: c.Reference}
	if res, err := replay(ctx, tx, c.UserID, c.IdempotencyKey, want); err != nil || res.Replayed {
		return res, err
	}
	balance, err := b.expire(ctx, c.UserID, now)
	if err != nil {
		return Result{}, err
	}
	lotID := rand.Text()
	var expires any
	if !c.ExpiresAt.IsZero() {
		expires = c.ExpiresAt.UTC()
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO credit_lots (id, user_id, source, priority, amount, remaining, expires_at, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		lotID, c.UserID, c.Source, c.Priority, c.Amount, c.Amount, expires, now); err != nil {
		return Result{}, fmt.Errorf("add a credit lot: %w", err)
	}
	balance += c.Amount
	if err := setBalance(ctx, tx, c.UserID, balance, now); err != nil {
		return Result{}, err
	}
	if err := rearmLowBalance(ctx, tx, c.UserID); err != nil {
		return Result{}, err
	}
	e := Entry{UserID: c.UserID, Kind: c.Kind, Amount: c.Amount, BalanceAfter: balance, Reference: c.Reference,
		LotID: lotID, IdempotencyKey: c.IdempotencyKey, ActorID: c.ActorID, Reason: c.Reason, CreatedAt: now}
	if err := appendEntry(ctx, tx, &e); err != nil {
		return Result{}, err
	}
	paid, err := b.payDebts(ctx, c.UserID, e.ID)
	if err != nil {
		return Result{}, err
	}
	res := Result{Entry: e, Balance: balance - paid, DebtPaid: paid}
	if hook != nil {
		if err := hook(ctx, b.tx, res); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

func (l *Ledger) debit(ctx context.Context, d Debit, kind Kind, actorID, reason string, hook afterWrite) (Result, error) {
	if err := validAmount(d.Amount); err != nil {
		return Result{}, err
	}
	return l.submit(ctx, groupcommit.Op[*batch, Result]{
		Key:     d.UserID,
		Declare: func(b *batch) { b.declare(d.UserID, d.IdempotencyKey) },
		Apply: func(ctx context.Context, b *batch) (Result, error) {
			return b.debit(ctx, d, kind, actorID, reason, hook)
		},
	})
}

// submit runs o in the ledger's group commit.
func (l *Ledger) submit(ctx context.Context, o groupcommit.Op[*batch, Result]) (Result, error) {
	if o.Key == "" {
		return Result{}, errors.New("no user given for the credit operation")
	}
	return l.commits.Submit(ctx, o)
}

// submitDirect submits an operation that writes the user's account with
// its own statements (see batch.direct).
func (l *Ledger) submitDirect(ctx context.Context, userID string, fn func(ctx context.Context, b *batch) (Result, error)) (Result, error) {
	return l.submit(ctx, groupcommit.Op[*batch, Result]{
		Key:     userID,
		Declare: func(b *batch) { b.declare(userID, "") },
		Apply: func(ctx context.Context, b *batch) (Result, error) {
			return b.direct(ctx, userID, func() (Result, error) { return fn(ctx, b) })
		},
	})
}

// Write runs fn in the ledger's group commit, in the lane of userID's
// account: for a write that belongs with the user's credits (the outcome
// of a service run) and should share a commit with the ledger's operations
// rather than pay for its own. fn must not touch the credit tables (the
// ledger's methods do) nor lock other accounts. An error from fn undoes
// all of fn's writes and is returned; the rest of the batch goes on.
func (l *Ledger) Write(ctx context.Context, userID string, fn func(ctx context.Context, tx *groupcommit.Tx) error) error {
	_, err := l.submit(ctx, groupcommit.Op[*batch, Result]{
		Key:   userID,
		Apply: func(ctx context.Context, b *batch) (Result, error) { return Result{}, fn(ctx, b.tx) },
	})
	return err
}

// Refund gives back the credits of a consumption whose work failed, into
// the very lots it drained, as a compensating refund entry. A consumption is
// refunded at most once; the second call returns ErrAlreadyRefunded.
func (l *Ledger) Refund(ctx context.Context, userID, consumptionID, reason string) (Result, error) {
	return l.submitDirect(ctx, userID, func(ctx context.Context, b *batch) (Result, error) {
		tx, now := b.tx.Tx, l.utcNow()
		balance, err := l.lockAccount(ctx, tx, userID, now)
		if err != nil {
			return Result{}, err
		}
		orig, err := entryByID(ctx, tx, userID, consumptionID)
		if err != nil {
			return Result{}, err
		}
		if orig.Kind != KindConsumption {
			return Result{}, groupcommit.Refuse(fmt.Errorf("only a consumption can be refunded, not a %s", orig.Kind.Label()))
		}
		if err := notYet(ctx, tx, orig.ID); err != nil {
			return Result{}, err
		}
		rows, err := tx.QueryContext(ctx, "SELECT lot_id, amount FROM credit_drains WHERE journal_id = ?", orig.ID)
		if err != nil {
			return Result{}, fmt.Errorf("read what the consumption drained: %w", err)
		}
		type give struct {
			lot    string
			amount int64
		}
		var gives []give
		for rows.Next() {
			var g give
			if err := rows.Scan(&g.lot, &g.amount); err != nil {
				rows.Close()
				return Result{}, fmt.Errorf("read what the consumption drained: %w", err)
			}
			gives = append(gives, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Result{}, fmt.Errorf("read what the consumption drained: %w", err)
		}
		for _, g := range gives {
			if _, err := tx.ExecContext(ctx, "UPDATE credit_lots SET remaining = remaining + ? WHERE id = ?", g.amount, g.lot); err != nil {
				return Result{}, fmt.Errorf("restore a credit lot: %w", err)
			}
		}
		balance += -orig.Amount
		if err := setBalance(ctx, tx, userID, balance, now); err != nil {
			return Result{}, err
		}
		if err := rearmLowBalance(ctx, tx, userID); err != nil {
			return Result{}, err
		}
		e := Entry{UserID: userID, Kind: KindRefund, Amount: -orig.Amount, BalanceAfter: balance, Service: orig.Service,
			Reference: orig.ID, Reason: reason, CreatedAt: now}
		if err := appendEntry(ctx, tx, &e); err != nil {
			return Result{}, err
		}
		// A restored lot may have expired while the work ran: expire it now,
		// as its own entry, so the books stay exact.
		balance, err = b.expire(ctx, userID, now)
		if err != nil {
			return Result{}, err
		}
		paid, err := b.payDebts(ctx, userID, e.ID)
		if err != nil {
			return Result{}, err
		}
		return Result{Entry: e, Balance: balance - paid, DebtPaid: paid}, nil
	})
}

// ExpireDue writes an expiry entry for every lot past its expiry that still
// holds credits, account by account, and returns how many accounts changed.
func (l *Ledger) ExpireDue(ctx context.Context) (int, error) {
	rows, err := l.db.QueryContext(ctx,
		"SELECT DISTINCT user_id FROM credit_lots WHERE open AND expires_at IS NOT NULL AND expires_at <= ?", l.utcNow())
	if err != nil {
		return 0, fmt.Errorf("find expired credits: %w", err)
	}
	var users []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("find expired credits: %w", err)
		}
		users = append(users, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find expired credits: %w", err)
	}
	for _, id := range users {
		_, err := l.submit(ctx, groupcommit.Op[*batch, Result]{
			Key:     id,
			Declare: func(b *batch) { b.declare(id, "") },
			Apply: func(ctx context.Context, b *batch) (Result, error) {
				_, err := b.expire(ctx, id, l.utcNow())
				return Result{}, err
			},
		})
		if err != nil {
			return 0, err
		}
	}
	return len(users), nil
}

// lockAccount makes sure the user has an account row, locks it for the rest
// of the transaction and returns its balance.
func (l *Ledger) lockAccount(ctx context.Context, tx *database.Tx, userID string, now time.Time) (int64, error) {
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO credit_accounts (user_id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
		userID, now, now); err != nil {
		return 0, fmt.Errorf("open the credit account: %w", err)
	}
	query := "SELECT balance FROM credit_accounts WHERE user_id = ?"
	if l.db.Dialect() == database.Postgres {
		query += " FOR UPDATE"
	}
	var balance int64
	if err := tx.QueryRowContext(ctx, query, userID).Scan(&balance); err != nil {
		return 0, fmt.Errorf("lock the credit account: %w", err)
	}
	return balance, nil
}

// lowNotice is the state of an account's low-balance notice.
type lowNotice struct {
	threshold int64
	sent      bool
}

// crossed reports whether a balance falling to balance calls for a notice.
func (n lowNotice) crossed(balance int64) bool {
	return n.threshold > 0 && !n.sent && balance < n.threshold
}

// replay returns the stored result when key was used before by this user,
// and ErrKeyReused when it was used for a different request.
func replay(ctx context.Context, tx *database.Tx, userID, key string, want Entry) (Result, error) {
	if key == "" {
		return Result{}, nil
	}
	e, err := scanEntry(tx.QueryRowContext(ctx, selectEntry+" WHERE user_id = ? AND idempotency_key = ?", userID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("look up the idempotency key: %w", err)
	}
	return replayOf(e, want)
}

// replayOf answers a request that carries the key of the earlier entry e:
// with e, replayed, when it asks for the same movement, and ErrKeyReused
// otherwise.
func replayOf(e, want Entry) (Result, error) {
	if e.Kind != want.Kind || e.Amount != want.Amount || e.Service != want.Service || (want.Reference != "" && e.Reference != want.Reference) {
		return Result{}, groupcommit.Refuse(ErrKeyReused)
	}
	return Result{Entry: e, Replayed: true, Balance: e.BalanceAfter}, nil
}

func setBalance(ctx context.Context, tx *database.Tx, userID string, balance int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, "UPDATE credit_accounts SET balance = ?, updated_at = ? WHERE user_id = ?", balance, now, userID); err != nil {
		return fmt.Errorf("set the balance: %w", err)
	}
	return nil
}

// appendEntry gives e an id and appends it to the journal.
func appendEntry(ctx context.Context, tx *database.Tx, e *Entry) error {
	e.ID = rand.Text()
	return insertEntries(ctx, tx, []Entry{*e})
}

// notYet refuses when the consumption was refunded already.
func notYet(ctx context.Context, tx *database.Tx, id string) error {
	var n int
	if err := tx.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM credit_journal WHERE reference = ? AND kind = 'refund'", id).Scan(&n); err != nil {
		return fmt.Errorf("check for an earlier refund: %w", err)
	}
	if n > 0 {
		return groupcommit.Refuse(ErrAlreadyRefunded)
	}
	return nil
}

const selectEntry = `SELECT id, user_id, kind, amount, balance_after, service, reference,
	COALESCE(idempotency_key, ''), actor_id, reason, lot_id, created_at FROM credit_journal`

type rowScanner interface{ Scan(dest ...any) error }

func scanEntry(row rowScanner) (Entry, error) {
	var e Entry
	var kind string
	err := row.Scan(&e.ID, &e.UserID, &kind, &e.Amount, &e.BalanceAfter, &e.Service, &e.Reference,
		&e.IdempotencyKey, &e.ActorID, &e.Reason, &e.LotID, &e.CreatedAt)
	e.Kind = Kind(kind)
	return e, err
}

func entryByID(ctx context.Context, tx *database.Tx, userID, id string) (Entry, error) {
	e, err := scanEntry(tx.QueryRowContext(ctx, selectEntry+" WHERE user_id = ? AND id = ?", userID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, groupcommit.Refuse(ErrNotFound)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("read a credit entry: %w", err)
	}
	return e, nil
}
