package credits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/paging"
)

// Balance returns the user's balance; a user who never had credits has 0.
func (l *Ledger) Balance(ctx context.Context, userID string) (int64, error) {
	var balance int64
	err := l.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(balance), 0) FROM credit_accounts WHERE user_id = ?", userID).Scan(&balance)
	if err != nil {
		return 0, fmt.Errorf("read the balance: %w", err)
	}
	return balance, nil
}

// Filter selects and orders journal entries. Zero fields select everything.
type Filter struct {
	UserID  string // required for users; empty only in admin-wide views
	Kind    Kind
	Service string
	From    time.Time // inclusive
	To      time.Time // exclusive
	// Sort is "newest" (default), "oldest", "amount" (largest debit first)
	// or "-amount" (largest credit first).
	Sort    string
	Page    int // from 1
	PerPage int
}

// Sorts lists the accepted Filter.Sort values.
var Sorts = []string{"newest", "oldest", "amount", "-amount"}

// MaxPerPage bounds a page of the journal.
const MaxPerPage = 500

// Page is one page of journal entries and the total that matched.
type Page struct {
	Entries []Entry
	Total   int
	Page    int
	PerPage int
}

// Pages is the number of pages, at least 1.
func (p Page) Pages() int { return paging.Pages(p.Total, p.PerPage) }

// Validate checks the filter's fields and fills in defaults.
func (f *Filter) Validate() error {
	if f.Kind != "" && !f.Kind.Valid() {
		return fmt.Errorf("unknown entry kind %q: use one of %s", f.Kind, joinKinds())
	}
	if f.Sort == "" {
		f.Sort = "newest"
	}
	known := false
	for _, s := range Sorts {
		known = known || s == f.Sort
	}
	if !known {
		return fmt.Errorf("unknown sort %q: use one of %s", f.Sort, strings.Join(Sorts, ", "))
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return errors.New("the end of the date range must come after its start")
	}
	if f.Page < 1 {
		f.Page = 1
	}
	if f.PerPage < 1 {
		f.PerPage = 50
	}
	f.PerPage = min(f.PerPage, MaxPerPage)
	return nil
}

func joinKinds() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	if f.UserID != "" {
		conds, args = append(conds, "user_id = ?"), append(args, f.UserID)
	}
	if f.Kind != "" {
		conds, args = append(conds, "kind = ?"), append(args, string(f.Kind))
	}
	if f.Service != "" {
		conds, args = append(conds, "service = ?"), append(args, f.Service)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "created_at >= ?"), append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "created_at < ?"), append(args, f.To.UTC())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func (f Filter) orderBy() string {
	switch f.Sort {
	case "oldest":
		return " ORDER BY seq"
	case "amount":
		return " ORDER BY amount, seq DESC"
	case "-amount":
		return " ORDER BY amount DESC, seq DESC"
	}
	return " ORDER BY seq DESC"
}

// Journal returns one page of entries matching f; a page past the end
// gives the last page.
func (l *Ledger) Journal(ctx context.Context, f Filter) (Page, error) {
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	where, args := f.where()
	page := Page{PerPage: f.PerPage}
	if err := l.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal"+where, args...).Scan(&page.Total); err != nil {
		return Page{}, fmt.Errorf("count journal entries: %w", err)
	}
	var offset int
	page.Page, offset = paging.Clamp(f.Page, f.PerPage, page.Total)
	query := selectEntry + where + f.orderBy() + " LIMIT ? OFFSET ?"
	entries, err := l.entries(ctx, query, append(args, f.PerPage, offset)...)
	if err != nil {
		return Page{}, err
	}
	page.Entries = entries
	return page, nil
}

// Each calls fn with every entry matching f, in f's order, without paging:
// for exports.
func (l *Ledger) Each(ctx context.Context, f Filter, fn func(Entry) error) error {
	f.Page, f.PerPage = 1, 1
	if err := f.Validate(); err != nil {
		return err
	}
	where, args := f.where()
	rows, err := l.db.QueryContext(ctx, selectEntry+where+f.orderBy(), args...)
	if err != nil {
		return fmt.Errorf("read the journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("read the journal: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the journal: %w", err)
	}
	return nil
}

func (l *Ledger) entries(ctx context.Context, query string, args ...any) ([]Entry, error) {
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("read the journal: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	return out, nil
}

// Entry returns one of the user's journal entries, or ErrNotFound, also when
// the entry belongs to someone else.
func (l *Ledger) Entry(ctx context.Context, userID, id string) (Entry, error) {
	e, err := scanEntry(l.db.QueryRowContext(ctx, selectEntry+" WHERE user_id = ? AND id = ?", userID, id))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Entry{}, ErrNotFound
		}
		return Entry{}, fmt.Errorf("read a credit entry: %w", err)
	}
	return e, nil
}

// Problem is one broken ledger invariant.
type Problem struct {
	UserID string
	What   string
}

func (p Problem) String() string { return p.UserID + ": " + p.What }

// Verify checks every account: the balance is not negative and equals both
// the sum of its journal and the sum of its lots' remaining credits; no
// idempotency key appears twice; debts agree with their payments, and no
// account owes while it holds credits. It returns the problems it finds.
func (l *Ledger) Verify(ctx context.Context) ([]Problem, error) {
	rows, err := l.db.QueryContext(ctx, `
		SELECT a.user_id, a.balance,
		       COALESCE((SELECT SUM(amount) FROM credit_journal j WHERE j.user_id = a.user_id), 0),
		       COALESCE((SELECT SUM(remaining) FROM credit_lots o WHERE o.user_id = a.user_id), 0),
		       COALESCE((SELECT balance_after FROM credit_journal j WHERE j.user_id = a.user_id ORDER BY seq DESC LIMIT 1), 0)
		FROM credit_accounts a ORDER BY a.user_id`)
	if err != nil {
		return nil, fmt.Errorf("check the ledger: %w", err)
	}
	defer rows.Close()
	var problems []Problem
	for rows.Next() {
		var user string
		var balance, journal, lots, last int64
		if err := rows.Scan(&user, &balance, &journal, &lots, &last); err != nil {
			return nil, fmt.Errorf("check the ledger: %w", err)
		}
		if balance < 0 {
			problems = append(problems, Problem{user, fmt.Sprintf("balance %d is negative", balance)})
		}
		if journal != balance {
			problems = append(problems, Problem{user, fmt.Sprintf("journal sums to %d, balance is %d", journal, balance)})
		}
		if lots != balance {
			problems = append(problems, Problem{user, fmt.Sprintf("lots hold %d, balance is %d", lots, balance)})
		}
		if last != balance {
			problems = append(problems, Problem{user, fmt.Sprintf("last entry says %d after, balance is %d", last, balance)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check the ledger: %w", err)
	}
	dups, err := l.db.QueryContext(ctx, `SELECT user_id, idempotency_key, COUNT(*) FROM credit_journal
		WHERE idempotency_key IS NOT NULL GROUP BY user_id, idempotency_key HAVING COUNT(*) > 1`)
	if err != nil {
		return nil, fmt.Errorf("check idempotency keys: %w", err)
	}
	defer dups.Close()
	for dups.Next() {
		var user, key string
		var n int
		if err := dups.Scan(&user, &key, &n); err != nil {
			return nil, fmt.Errorf("check idempotency keys: %w", err)
		}
		problems = append(problems, Problem{user, fmt.Sprintf("idempotency key %q used %d times", key, n)})
	}
	if err := dups.Err(); err != nil {
		return nil, fmt.Errorf("check idempotency keys: %w", err)
	}
	totals, err := l.verifyTotals(ctx)
	if err != nil {
		return nil, err
	}
	problems = append(problems, totals...)
	debts, err := l.verifyDebts(ctx)
	return append(problems, debts...), err
}

// verifyTotals checks credit_totals, the journal summed by account and
// kind that a trigger keeps, against the journal itself.
func (l *Ledger) verifyTotals(ctx context.Context) ([]Problem, error) {
	rows, err := l.db.QueryContext(ctx, `
		SELECT user_id, kind, SUM(total), SUM(journal), SUM(total_entries), SUM(journal_entries) FROM (
			SELECT user_id, kind, amount AS total, 0 AS journal, entries AS total_entries, 0 AS journal_entries FROM credit_totals
			UNION ALL
			SELECT user_id, kind, 0, amount, 0, 1 FROM credit_journal
		) sums GROUP BY user_id, kind
		HAVING SUM(total) <> SUM(journal) OR SUM(total_entries) <> SUM(journal_entries)`)
	if err != nil {
		return nil, fmt.Errorf("check the journal's totals: %w", err)
	}
	defer rows.Close()
	var problems []Problem
	for rows.Next() {
		var user, kind string
		var total, journal, totalEntries, journalEntries int64
		if err := rows.Scan(&user, &kind, &total, &journal, &totalEntries, &journalEntries); err != nil {
			return nil, fmt.Errorf("check the journal's totals: %w", err)
		}
		problems = append(problems, Problem{user, fmt.Sprintf("%s entries: %d summing to %d in the journal, %d summing to %d in credit_totals",
			kind, journalEntries, journal, totalEntries, total)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check the journal's totals: %w", err)
	}
	return problems, nil
}
