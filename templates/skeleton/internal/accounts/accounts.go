// Package accounts holds the users of the application: sign-up with
// mandatory email verification, password sign-in, password reset and
// change, email change, deletion, roles, and the administration of users.
//
// Email is the only identifier. Answers never reveal whether an address
// has an account: sign-up, sign-in and reset say the same thing, in the
// same time, whatever the address.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
)

// Role is what a user may do.
type Role string

const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// User is one account.
type User struct {
	ID                string
	Email             string
	Name              string
	PasswordHash      string
	Role              Role
	Active            bool
	EmailVerifiedAt   sql.NullTime
	PasswordChangedAt time.Time
	LastLoginAt       sql.NullTime
	CreatedAt         time.Time
}

// Verified reports whether the user has confirmed their address.
func (u User) Verified() bool { return u.EmailVerifiedAt.Valid }

// IsAdmin reports whether the user has the admin role.
func (u User) IsAdmin() bool { return u.Role == RoleAdmin }

// Errors the web layer turns into pages. None says whether an address has
// an account.
var (
	ErrInvalidCredentials = errors.New("the email address or password is not correct")
	ErrNotVerified        = errors.New("the email address is not verified yet")
	ErrInactive           = errors.New("the account is deactivated")
	ErrInvalidToken       = errors.New("the link is invalid, used or expired")
	ErrNotFound           = errors.New("no such account")
	ErrSelf               = errors.New("administrators cannot change their own role or status")
)

// Problems maps a form field to what is wrong with it. It is an error so
// that validation failures travel the ordinary error path.
type Problems map[string]string

func (p Problems) Error() string { return "the form has problems" }

// Token lifetimes: short, since each link is a key to the account.
const (
	VerifyTokenTTL      = 24 * time.Hour
	ResetTokenTTL       = time.Hour
	EmailChangeTokenTTL = 24 * time.Hour
)

const (
	purposeVerify      = "verify"
	purposeReset       = "reset"
	purposeEmailChange = "email_change"
)

// Service is the accounts logic over the database and the outbox.
type Service struct {
	db       *database.DB
	hasher   *Hasher
	outbox   *mail.Outbox
	composer *mail.Composer
	logger   *slog.Logger
	baseURL  string
	now      func() time.Time
}

// New returns the accounts service. baseURL is the public origin links in
// emails point to.
func New(db *database.DB, hasher *Hasher, outbox *mail.Outbox, composer *mail.Composer, logger *slog.Logger, baseURL string) *Service {
	return &Service{db: db, hasher: hasher, outbox: outbox, composer: composer, logger: logger,
		baseURL: strings.TrimSuffix(baseURL, "/"), now: time.Now}
}

// SetClock replaces the clock, for tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetHasher replaces the password hasher, for tests of rehashing.
func (s *Service) SetHasher(h *Hasher) { s.hasher = h }

// newToken returns a link token (256 random bits) and the SHA-256 that is
// stored in its place.
func newToken() (plain, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, hashToken(plain)
}

func hashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

const userColumns = "id, email, name, password_hash, role, active, email_verified_at, password_changed_at, last_login_at, created_at"

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(row rowScanner) (User, error) {
	var u User
	var role string
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &role, &u.Active, &u.EmailVerifiedAt, &u.PasswordChangedAt, &u.LastLoginAt, &u.CreatedAt)
	u.Role = Role(role)
	return u, err
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Service) userBy(ctx context.Context, q queryRower, column, value string) (User, error) {
	if !utf8.ValidString(value) {
		// No stored value is invalid UTF-8, and PostgreSQL refuses it as
		// a parameter: it names no account.
		return User{}, ErrNotFound
	}
	u, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE "+column+" = ?", value))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("read account: %w", err)
	}
	return u, nil
}

// ByID returns the user with id, or ErrNotFound.
func (s *Service) ByID(ctx context.Context, id string) (User, error) {
	return s.userBy(ctx, s.db, "id", id)
}

// ByEmail returns the user with the address, in any case, or ErrNotFound.
func (s *Service) ByEmail(ctx context.Context, email string) (User, error) {
	return s.userBy(ctx, s.db, "email_normalized", NormalizeEmail(email))
}

// queue composes an email and stores it through q.
func (s *Service) queue(ctx context.Context, q mail.Execer, template, to string, d mail.Data) error {
	m, err := s.composer.Compose(template, to, d)
	if err != nil {
		return err
	}
	return s.outbox.Enqueue(ctx, q, m)
}

func (s *Service) link(path, token string) string {
	if token == "" {
		return s.baseURL + path
	}
	return s.baseURL + path + "?token=" + token
}

// issueToken voids the user's unused tokens of the purpose, then stores a
// new one: only the latest link works.
func (s *Service) issueToken(ctx context.Context, tx *database.Tx, userID, purpose, newEmail string, ttl time.Duration) (string, error) {
	now := s.now().UTC()
	if _, err := tx.ExecContext(ctx, "UPDATE email_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL",
		now, userID, purpose); err != nil {
		return "", fmt.Errorf("void older links: %w", err)
	}
	plain, hash := newToken()
	var ne any
	if newEmail != "" {
		ne = newEmail
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO email_tokens (token_hash, user_id, purpose, new_email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		hash, userID, purpose, ne, now, now.Add(ttl)); err != nil {
		return "", fmt.Errorf("store link: %w", err)
	}
	return plain, nil
}

// consumeToken marks a live token of the purpose used and returns its user
// id and new email. A token is used once: the UPDATE matches only while
// used_at is empty, so two concurrent uses cannot both succeed.
func (s *Service) consumeToken(ctx context.Context, tx *database.Tx, plain, purpose string) (userID, newEmail string, err error) {
	now := s.now().UTC()
	var ne sql.NullString
	err = tx.QueryRowContext(ctx, `UPDATE email_tokens SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING user_id, new_email`, now, hashToken(plain), purpose, now).Scan(&userID, &ne)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrInvalidToken
	}
	if err != nil {
		return "", "", fmt.Errorf("use link: %w", err)
	}
	return userID, ne.String, nil
}

// peekToken returns the user of a live token without using it, so a page
// can say whether its link still works before the form is sent.
func (s *Service) peekToken(ctx context.Context, plain, purpose string) (User, error) {
	var userID string
	err := s.db.QueryRowContext(ctx,
		"SELECT user_id FROM email_tokens WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?",
		hashToken(plain), purpose, s.now().UTC()).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, fmt.Errorf("read link: %w", err)
	}
	return s.ByID(ctx, userID)
}

// SignUp creates an unverified account and emails a verification link.
// When the address already has an account nothing is created and its
// owner is told instead; the caller cannot tell the two apart, by answer
// or by time (the password is hashed either way).
func (s *Service) SignUp(ctx context.Context, email, name, password string) error {
	email, name = strings.TrimSpace(email), strings.TrimSpace(name)
	password = NormalizePassword(password)
	problems := Problems{}
	if p := CheckEmail(email); p != "" {
		problems["email"] = p
	}
	if p := CheckName(name); p != "" {
		problems["name"] = p
	}
	if p := CheckPassword(password, email); p != "" {
		problems["password"] = p
	}
	if len(problems) > 0 {
		return problems
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		existing, err := s.userBy(ctx, tx, "email_normalized", NormalizeEmail(email))
		switch {
		case err == nil:
			s.logger.InfoContext(ctx, "sign-up for an existing account", "user_id", existing.ID)
			return s.queue(ctx, tx, "signup_existing", existing.Email, mail.Data{Name: existing.Name, Link: s.link("/password/reset", "")})
		case !errors.Is(err, ErrNotFound):
			return err
		}
		now := s.now().UTC()
		id := rand.Text()
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, password_changed_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, email, NormalizeEmail(email), name, hash, string(RoleUser), true, now, now); err != nil {
			return fmt.Errorf("create account: %w", err)
		}
		token, err := s.issueToken(ctx, tx, id, purposeVerify, "", VerifyTokenTTL)
		if err != nil {
			return err
		}
		s.logger.InfoContext(ctx, "account created", "user_id", id)
		return s.queue(ctx, tx, "verify", email, mail.Data{Name: name, Link: s.link("/verify", token), Expires: "24 hours"})
	})
	if err != nil {
		// Two sign-ups for one address at once: the unique index refused
		// the second, which then answers like any sign-up for a taken
		// address.
		if _, lookupErr := s.ByEmail(ctx, email); lookupErr == nil {
			s.logger.InfoContext(ctx, "concurrent sign-up for one address")
			return nil
		}
	}
	return err
}

// ResendVerification emails a new verification link if the address has an
// unverified account; otherwise it does nothing, silently.
func (s *Service) ResendVerification(ctx context.Context, email string) error {
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		u, err := s.userBy(ctx, tx, "email_normalized", NormalizeEmail(email))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil || u.Verified() || !u.Active {
			return err
		}
		token, err := s.issueToken(ctx, tx, u.ID, purposeVerify, "", VerifyTokenTTL)
		if err != nil {
			return err
		}
		return s.queue(ctx, tx, "verify", u.Email, mail.Data{Name: u.Name, Link: s.link("/verify", token), Expires: "24 hours"})
	})
}

// CheckVerifyToken reports whether a verification link still works.
func (s *Service) CheckVerifyToken(ctx context.Context, token string) error {
	_, err := s.peekToken(ctx, token, purposeVerify)
	return err
}

// Verify uses a verification link: the address is confirmed and a welcome
// email queued.
func (s *Service) Verify(ctx context.Context, token string) (User, error) {
	var u User
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		userID, _, err := s.consumeToken(ctx, tx, token, purposeVerify)
		if err != nil {
			return err
		}
		if u, err = s.userBy(ctx, tx, "id", userID); err != nil {
			return err
		}
		if u.Verified() {
			return nil
		}
		u.EmailVerifiedAt = sql.NullTime{Time: s.now().UTC(), Valid: true}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET email_verified_at = ? WHERE id = ?", u.EmailVerifiedAt.Time, u.ID); err != nil {
			return fmt.Errorf("confirm address: %w", err)
		}
		return s.queue(ctx, tx, "welcome", u.Email, mail.Data{Name: u.Name, Link: s.link("/dashboard", "")})
	})
	if err == nil {
		s.logger.InfoContext(ctx, "email verified", "user_id", u.ID)
	}
	return u, err
}

// Authenticate checks an address and password. Unknown addresses cost the
// same time as known ones (a dummy hash is checked). A correct password
// for an unverified or deactivated account gives ErrNotVerified or
// ErrInactive: only someone who knows the password learns that. Hashes
// with outdated parameters are replaced.
func (s *Service) Authenticate(ctx context.Context, email, password string) (User, error) {
	password = NormalizePassword(password)
	u, err := s.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	ok, rehash, verr := s.hasher.Verify(ctx, password, u.PasswordHash)
	if verr != nil {
		return User{}, fmt.Errorf("check password of account %s: %w", u.ID, verr)
	}
	if !ok {
		return User{}, ErrInvalidCredentials
	}
	if !u.Active {
		return u, ErrInactive
	}
	if !u.Verified() {
		return u, ErrNotVerified
	}
	now := s.now().UTC()
	if rehash {
		hash, err := s.hasher.Hash(ctx, password)
		if err != nil {
			return User{}, err
		}
		if _, err := s.db.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, u.ID); err != nil {
			return User{}, fmt.Errorf("update password hash: %w", err)
		}
		u.PasswordHash = hash
		s.logger.InfoContext(ctx, "password rehashed with current parameters", "user_id", u.ID)
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE users SET last_login_at = ? WHERE id = ?", now, u.ID); err != nil {
		return User{}, fmt.Errorf("record sign-in: %w", err)
	}
	u.LastLoginAt = sql.NullTime{Time: now, Valid: true}
	return u, nil
}

// CheckPasswordOf reports whether password is the user's, for
// reauthentication.
func (s *Service) CheckPasswordOf(ctx context.Context, u User, password string) (bool, error) {
	ok, _, err := s.hasher.Verify(ctx, NormalizePassword(password), u.PasswordHash)
	return ok, err
}

// RequestReset emails a reset link if the address has an active account;
// any older reset link stops working. Unknown addresses get nothing, and
// the caller cannot tell.
func (s *Service) RequestReset(ctx context.Context, email string) error {
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		u, err := s.userBy(ctx, tx, "email_normalized", NormalizeEmail(email))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil || !u.Active {
			return err
		}
		token, err := s.issueToken(ctx, tx, u.ID, purposeReset, "", ResetTokenTTL)
		if err != nil {
			return err
		}
		s.logger.InfoContext(ctx, "password reset requested", "user_id", u.ID)
		return s.queue(ctx, tx, "reset", u.Email, mail.Data{Name: u.Name, Link: s.link("/password/reset/confirm", token), Expires: "one hour"})
	})
}

// CheckResetToken reports whether a reset link still works.
func (s *Service) CheckResetToken(ctx context.Context, token string) error {
	_, err := s.peekToken(ctx, token, purposeReset)
	return err
}

// ResetPassword uses a reset link to set a new password. The address is
// proven by the link, so it counts as verified too. The caller ends the
// user's sessions.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (User, error) {
	password = NormalizePassword(password)
	u, err := s.peekToken(ctx, token, purposeReset)
	if err != nil {
		return User{}, err
	}
	if p := CheckPassword(password, u.Email); p != "" {
		return User{}, Problems{"password": p}
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		userID, _, err := s.consumeToken(ctx, tx, token, purposeReset)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?,
			email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ?`, hash, now, now, userID); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		return s.queue(ctx, tx, "password_changed", u.Email, mail.Data{Name: u.Name, Link: s.link("/password/reset", "")})
	})
	if err == nil {
		s.logger.InfoContext(ctx, "password reset", "user_id", u.ID)
	}
	return u, err
}

// ChangePassword sets a new password after checking the current one. A
// wrong current password changes nothing. The user is told by email; the
// caller ends their other sessions.
func (s *Service) ChangePassword(ctx context.Context, userID, current, password string) error {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, NormalizePassword(current), u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return Problems{"current_password": "This is not your current password."}
	}
	password = NormalizePassword(password)
	if p := CheckPassword(password, u.Email); p != "" {
		return Problems{"password": p}
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
			hash, s.now().UTC(), u.ID); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		return s.queue(ctx, tx, "password_changed", u.Email, mail.Data{Name: u.Name, Link: s.link("/password/reset", "")})
	})
	if err == nil {
		s.logger.InfoContext(ctx, "password changed", "user_id", u.ID)
	}
	return err
}

// UpdateProfile sets the user's display name, the only field a user edits
// directly.
func (s *Service) UpdateProfile(ctx context.Context, userID, name string) error {
	name = strings.TrimSpace(name)
	if p := CheckName(name); p != "" {
		return Problems{"name": p}
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", name, userID); err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	return nil
}

// RequestEmailChange sends a confirmation link to the new address and a
// notice to the current one. The account keeps its address until the link
// is used. An address taken by another account gets nothing, and the
// caller cannot tell.
func (s *Service) RequestEmailChange(ctx context.Context, userID, newEmail string) error {
	newEmail = strings.TrimSpace(newEmail)
	if p := CheckEmail(newEmail); p != "" {
		return Problems{"email": p}
	}
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		u, err := s.userBy(ctx, tx, "id", userID)
		if err != nil {
			return err
		}
		if NormalizeEmail(newEmail) == NormalizeEmail(u.Email) {
			return Problems{"email": "This is already your address."}
		}
		if _, err := s.userBy(ctx, tx, "email_normalized", NormalizeEmail(newEmail)); err == nil {
			s.logger.InfoContext(ctx, "email change to an address in use", "user_id", u.ID)
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		token, err := s.issueToken(ctx, tx, u.ID, purposeEmailChange, newEmail, EmailChangeTokenTTL)
		if err != nil {
			return err
		}
		if err := s.queue(ctx, tx, "email_change_confirm", newEmail, mail.Data{Name: u.Name, Link: s.link("/email/confirm", token), Expires: "24 hours"}); err != nil {
			return err
		}
		return s.queue(ctx, tx, "email_change_notice", u.Email, mail.Data{Name: u.Name, Email: newEmail, Link: s.link("/login", "")})
	})
}

// CheckEmailChangeToken reports whether an email change link still works.
func (s *Service) CheckEmailChangeToken(ctx context.Context, token string) error {
	_, err := s.peekToken(ctx, token, purposeEmailChange)
	return err
}

// ConfirmEmailChange uses an email change link: the account's address
// becomes the new, now verified, one and the old address is told.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) (User, error) {
	var u User
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		userID, newEmail, err := s.consumeToken(ctx, tx, token, purposeEmailChange)
		if err != nil {
			return err
		}
		if u, err = s.userBy(ctx, tx, "id", userID); err != nil {
			return err
		}
		if _, err := s.userBy(ctx, tx, "email_normalized", NormalizeEmail(newEmail)); err == nil {
			return ErrInvalidToken // taken since the link was sent
		}
		old := u.Email
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, "UPDATE users SET email = ?, email_normalized = ?, email_verified_at = ? WHERE id = ?",
			newEmail, NormalizeEmail(newEmail), now, u.ID); err != nil {
			return fmt.Errorf("change address: %w", err)
		}
		u.Email = newEmail
		return s.queue(ctx, tx, "email_changed", old, mail.Data{Name: u.Name, Email: newEmail})
	})
	if err == nil {
		s.logger.InfoContext(ctx, "email changed", "user_id", u.ID)
	}
	return u, err
}

// Delete removes the user's account, sessions and links. What is kept:
// the outbox's goodbye email and audit log rows naming the account's id.
func (s *Service) Delete(ctx context.Context, userID string) error {
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		u, err := s.userBy(ctx, tx, "id", userID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", u.ID); err != nil {
			return fmt.Errorf("delete account: %w", err)
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: s.now(), ActorID: u.ID, TargetID: u.ID, Action: "account.deleted"}); err != nil {
			return err
		}
		return s.queue(ctx, tx, "account_deleted", u.Email, mail.Data{Name: u.Name})
	})
	if err == nil {
		s.logger.InfoContext(ctx, "account deleted", "user_id", userID)
	}
	return err
}
