package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/paging"
)

// Query selects users for the admin list.
type Query struct {
	Search  string // part of the address or name
	Role    Role   // "" for any
	Status  string // "", "active", "inactive" or "unverified"
	Page    int    // from 1
	PerPage int
}

// UserList is one page of users.
type UserList struct {
	Users   []User
	Total   int
	Page    int
	PerPage int
}

// Pages is the number of pages.
func (l UserList) Pages() int { return paging.Pages(l.Total, l.PerPage) }

// List returns the users matching q, newest first; a page past the end
// gives the last page.
func (s *Users) List(ctx context.Context, q Query) (UserList, error) {
	q.PerPage = min(max(q.PerPage, 1), 100)
	where := []string{"1 = 1"}
	var args []any
	if q.Search != "" {
		where = append(where, `(email_normalized LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\')`)
		args = append(args, database.LikePattern(q.Search), database.LikePattern(q.Search))
	}
	if q.Role == RoleUser || q.Role == RoleAdmin {
		where = append(where, "role = ?")
		args = append(args, string(q.Role))
	}
	switch q.Status {
	case "active":
		where = append(where, "active = ? AND email_verified_at IS NOT NULL")
		args = append(args, true)
	case "inactive":
		where = append(where, "active = ?")
		args = append(args, false)
	case "unverified":
		where = append(where, "email_verified_at IS NULL")
	}
	cond := strings.Join(where, " AND ")
	list := UserList{PerPage: q.PerPage}
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE "+cond, args...).Scan(&list.Total); err != nil {
		return UserList{}, fmt.Errorf("count accounts: %w", err)
	}
	var offset int
	list.Page, offset = paging.Clamp(q.Page, q.PerPage, list.Total)
	rows, err := s.db.QueryContext(ctx, "SELECT "+userColumns+" FROM users WHERE "+cond+" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
		append(args, q.PerPage, offset)...)
	if err != nil {
		return UserList{}, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return UserList{}, fmt.Errorf("list accounts: %w", err)
		}
		list.Users = append(list.Users, u)
	}
	if err := rows.Err(); err != nil {
		return UserList{}, fmt.Errorf("list accounts: %w", err)
	}
	return list, nil
}

// Counts summarises the accounts for the admin dashboard.
type Counts struct {
	Total, Active, Unverified, Inactive, Admins int
}

// Count returns the dashboard's numbers.
func (s *Users) Count(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN active = ? AND email_verified_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN email_verified_at IS NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN active = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END), 0)
		FROM users`, true, false).Scan(&c.Total, &c.Active, &c.Unverified, &c.Inactive, &c.Admins)
	if err != nil {
		return Counts{}, fmt.Errorf("count accounts: %w", err)
	}
	return c, nil
}

// SetActive activates or deactivates target, recording who did it. The
// caller ends a deactivated user's sessions.
func (s *Users) SetActive(ctx context.Context, actorID, targetID string, active bool) error {
	if actorID == targetID {
		return ErrSelf
	}
	action := "user.deactivated"
	if active {
		action = "user.activated"
	}
	return s.adminUpdate(ctx, actorID, targetID, action, "", "UPDATE users SET active = ? WHERE id = ?", active, targetID)
}

// SetRole gives target role, recording who did it. The caller ends the
// target's sessions, so the change applies to a fresh session.
func (s *Users) SetRole(ctx context.Context, actorID, targetID string, role Role) error {
	if actorID == targetID {
		return ErrSelf
	}
	if role != RoleUser && role != RoleAdmin {
		return fmt.Errorf("unknown role %q", role)
	}
	action := "user.demoted"
	if role == RoleAdmin {
		action = "user.promoted"
	}
	return s.adminUpdate(ctx, actorID, targetID, action, "role="+string(role), "UPDATE users SET role = ? WHERE id = ?", string(role), targetID)
}

func (s *Users) adminUpdate(ctx context.Context, actorID, targetID, action, detail, stmt string, args ...any) error {
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		res, err := tx.ExecContext(ctx, stmt, args...)
		if err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		s.logger.InfoContext(ctx, "admin action", "action", action, "actor_id", actorID, "target_id", targetID)
		return audit.Record(ctx, tx, audit.Entry{At: s.clock.Now(), ActorID: actorID, TargetID: targetID, Action: action, Detail: detail})
	})
}

// AdminDelete deletes target's account for the administrator actorID,
// once confirm is the account's address: typing it makes deleting the
// wrong account, or deleting by a stray click, unlikely. An administrator
// cannot delete their own account here (ErrSelf): they delete it from
// their settings, as any user. The owner is told by email.
func (s *Users) AdminDelete(ctx context.Context, actorID, targetID, confirm string) error {
	if actorID == targetID {
		return ErrSelf
	}
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		u, err := s.userBy(ctx, tx, "id", targetID)
		if err != nil {
			return err
		}
		if NormalizeEmail(confirm) != NormalizeEmail(u.Email) {
			return Problems{"confirm": "Type the account's address, " + u.Email + ", to confirm the deletion."}
		}
		_, err = s.remove(ctx, tx, u, removal{actorID: actorID, action: "user.deleted", email: "account_removed"})
		return err
	})
}

// EnsureAdmin creates a verified, active admin with the address, or, when
// the address has an account, makes it one and sets its password. It is
// what the createadmin command runs; created reports which happened, and
// the audit log names the command as the actor.
func (s *Users) EnsureAdmin(ctx context.Context, email, name, password, command string) (created bool, err error) {
	return s.ensure(ctx, email, name, password, RoleAdmin, command)
}

// EnsureUser is EnsureAdmin for an ordinary verified user.
func (s *Users) EnsureUser(ctx context.Context, email, name, password, command string) (bool, error) {
	return s.ensure(ctx, email, name, password, RoleUser, command)
}

func (s *Users) ensure(ctx context.Context, email, name, password string, role Role, actor string) (bool, error) {
	email, name = strings.TrimSpace(email), strings.TrimSpace(name)
	password = NormalizePassword(password)
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	if problems := checkNewAccount(email, name, password); len(problems) > 0 {
		var msgs []string
		for _, field := range []string{"email", "name", "password"} {
			if p, ok := problems[field]; ok {
				msgs = append(msgs, field+": "+p)
			}
		}
		return false, errors.New(strings.Join(msgs, " "))
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return false, err
	}
	created := false
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		now := s.clock.Now().UTC()
		u, err := s.userBy(ctx, tx, "email_normalized", NormalizeEmail(email))
		switch {
		case errors.Is(err, ErrNotFound):
			created = true
			u.ID = rand.Text()
			_, err = tx.ExecContext(ctx, `INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, email_verified_at, password_changed_at, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, email, NormalizeEmail(email), name, hash, string(role), true, now, now, now)
		case err == nil:
			// The new password ends the sessions and links the old one
			// was issued with (User.State).
			_, err = tx.ExecContext(ctx, `UPDATE users SET role = ?, active = ?, password_hash = ?, password_changed_at = ?,
				email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ?`, string(role), true, hash, now, now, u.ID)
		}
		if err != nil {
			return fmt.Errorf("save account: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, ActorID: actor, TargetID: u.ID, Action: "user." + string(role) + "_ensured"})
	})
	return created, err
}
