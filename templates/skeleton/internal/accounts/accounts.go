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
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
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

// State fingerprints what a credential of the account is issued for: the
// password hash and the address. Every link and session stores the state
// of its issue and is refused once the account's state differs, as
// Django's session auth hash and reset tokens are, so any change of the
// password or the address ends the credentials issued before it, whatever
// code path made the change (a change, a reset, a command, a future
// feature). A rehash with new parameters changes it too: the sessions on
// other devices end once, after a parameter upgrade.
func (u User) State() string {
	h := sha256.New()
	for _, part := range []string{u.PasswordHash, u.Email} {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

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

// Options are what the accounts are built from.
type Options struct {
	DB       *database.DB
	Hasher   *Hasher
	Outbox   *mail.Outbox
	Composer *mail.Composer
	// Limiter counts the attempts the rules of limits.go bound.
	Limiter *ratelimit.Limiter
	Logger  *slog.Logger
	// BaseURL is the public origin links in emails point to.
	BaseURL string
	// Clock dates accounts and links and runs their expiries.
	Clock clock.Clock
	// Keep returns, in a deletion's transaction, what the audit log keeps
	// of the account's records that the deletion removes with it (the
	// credit ledger's Statement, for the financial records); nil keeps
	// nothing.
	Keep func(ctx context.Context, tx *database.Tx, userID string) (string, error)
}

// Users is the accounts logic over the database, the outbox and the rate
// limits.
type Users struct {
	db       *database.DB
	hasher   *Hasher
	outbox   *mail.Outbox
	composer *mail.Composer
	limiter  *ratelimit.Limiter
	logger   *slog.Logger
	baseURL  string
	clock    clock.Clock
	keep     func(ctx context.Context, tx *database.Tx, userID string) (string, error)
	// jobs is the queue RegisterJobs was given, whose jobs make and mail
	// the reset and confirmation links.
	jobs *jobs.Queue
	// onEmailChange runs in the transaction that changes an address.
	onEmailChange func(ctx context.Context, tx *database.Tx, userID string) error
}

// OnEmailChange makes fn run in the transaction that changes a user's
// address, so that what depends on the address (the Stripe customer's)
// is queued to follow it or the change does not commit. fn must only
// write through tx. Call it before serving.
func (s *Users) OnEmailChange(fn func(ctx context.Context, tx *database.Tx, userID string) error) {
	s.onEmailChange = fn
}

// New returns the accounts built from o.
func New(o Options) *Users {
	return &Users{db: o.DB, hasher: o.Hasher, outbox: o.Outbox, composer: o.Composer, limiter: o.Limiter, logger: o.Logger,
		baseURL: strings.TrimSuffix(o.BaseURL, "/"), clock: o.Clock, keep: o.Keep}
}

// SetHasher replaces the password hasher, for tests of rehashing.
func (s *Users) SetHasher(h *Hasher) { s.hasher = h }

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

func (s *Users) userBy(ctx context.Context, q queryRower, column, value string) (User, error) {
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
func (s *Users) ByID(ctx context.Context, id string) (User, error) {
	return s.userBy(ctx, s.db, "id", id)
}

// ByEmail returns the user with the address, in any case, or ErrNotFound.
func (s *Users) ByEmail(ctx context.Context, email string) (User, error) {
	return s.userBy(ctx, s.db, "email_normalized", NormalizeEmail(email))
}

// addressee is the name a mail to u's address greets: none while the
// address is unproven, since until then the name is text anyone could have
// typed, to be sent to anyone's address. A mail to an address that is not
// the account's yet (a new address to confirm) never names the account.
func addressee(u User) string {
	if u.Verified() {
		return u.Name
	}
	return ""
}

// queue composes an email and stores it through q.
func (s *Users) queue(ctx context.Context, q database.Execer, template, to string, d mail.Data) error {
	m, err := s.composer.Compose(template, to, d)
	if err != nil {
		return err
	}
	return s.outbox.Enqueue(ctx, q, m)
}

// NotifyAPIKeyCreated queues, through q, the email that tells u an API key
// named name, whose visible part is prefix, was created at: a key made by
// someone else (a stolen session, an operator) does not go unseen.
func (s *Users) NotifyAPIKeyCreated(ctx context.Context, q database.Execer, u User, name, prefix string, at time.Time) error {
	return s.queue(ctx, q, "api_key_created", u.Email, mail.Data{Name: u.Name, Link: s.link("/settings/api-keys", ""), Lines: []string{
		"Name: " + name, "Key: " + prefix + "…", "Created: " + at.UTC().Format("2 January 2006, 15:04 MST"),
	}})
}

func (s *Users) link(path, token string) string {
	if token == "" {
		return s.baseURL + path
	}
	return s.baseURL + path + "?token=" + token
}

// issueToken voids the user's unused tokens of the purpose, then stores a
// new one bound to the account's current state: only the latest link
// works, and only while the password and address are those it was sent
// for.
func (s *Users) issueToken(ctx context.Context, tx *database.Tx, userID, purpose, newEmail string, ttl time.Duration) (string, error) {
	u, err := s.userBy(ctx, tx, "id", userID)
	if err != nil {
		return "", err
	}
	now := s.clock.Now().UTC()
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
		"INSERT INTO email_tokens (token_hash, user_id, purpose, new_email, user_state, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		hash, userID, purpose, ne, u.State(), now, now.Add(ttl)); err != nil {
		return "", fmt.Errorf("store link: %w", err)
	}
	return plain, nil
}

// liveToken returns the account of a live token of the purpose and the
// new address the token carries. Live: unused, unexpired, its account
// active and still in the state the token was issued for.
func (s *Users) liveToken(ctx context.Context, q queryRower, plain, purpose string) (User, string, error) {
	var userID, state string
	var ne sql.NullString
	err := q.QueryRowContext(ctx, `SELECT user_id, new_email, user_state FROM email_tokens
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`,
		hashToken(plain), purpose, s.clock.Now().UTC()).Scan(&userID, &ne, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", ErrInvalidToken
	}
	if err != nil {
		return User{}, "", fmt.Errorf("read link: %w", err)
	}
	u, err := s.userBy(ctx, q, "id", userID)
	if errors.Is(err, ErrNotFound) {
		return User{}, "", ErrInvalidToken
	}
	if err != nil {
		return User{}, "", err
	}
	if !u.Active || u.State() != state {
		return User{}, "", ErrInvalidToken
	}
	return u, ne.String, nil
}

// consumeToken marks a live token of the purpose used and returns its
// account and new address. A token is used once: the UPDATE matches only
// while used_at is empty, so two concurrent uses cannot both succeed.
func (s *Users) consumeToken(ctx context.Context, tx *database.Tx, plain, purpose string) (User, string, error) {
	u, newEmail, err := s.liveToken(ctx, tx, plain, purpose)
	if err != nil {
		return User{}, "", err
	}
	res, err := tx.ExecContext(ctx, "UPDATE email_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
		s.clock.Now().UTC(), hashToken(plain))
	if err != nil {
		return User{}, "", fmt.Errorf("use link: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return User{}, "", fmt.Errorf("use link: %w", err)
	} else if n == 0 {
		return User{}, "", ErrInvalidToken
	}
	return u, newEmail, nil
}

// updateChecked applies set to u's row only while the row still has the
// password and address a token was checked against: a password or address
// changed by a concurrent transaction makes the link fail instead of being
// overwritten by it.
func updateChecked(ctx context.Context, tx *database.Tx, u User, set string, args ...any) error {
	res, err := tx.ExecContext(ctx, "UPDATE users SET "+set+" WHERE id = ? AND password_hash = ? AND email = ?",
		append(args, u.ID, u.PasswordHash, u.Email)...)
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update account: %w", err)
	} else if n == 0 {
		return ErrInvalidToken
	}
	return nil
}

// peekToken returns the user of a live token without using it, so a page
// can say whether its link still works before the form is sent.
func (s *Users) peekToken(ctx context.Context, plain, purpose string) (User, error) {
	u, _, err := s.liveToken(ctx, s.db, plain, purpose)
	return u, err
}

// SignUp creates an unverified account and emails a verification link.
// When the address already has an account nothing is created and its
// owner is told instead; the caller cannot tell the two apart, by answer
// or by time (the password is hashed either way). ip is the client's
// address, which SignupPerIP bounds; SignupPerAddress bounds the sign-ups,
// and so the emails, for one address.
func (s *Users) SignUp(ctx context.Context, email, name, password, ip string) error {
	if err := s.take(ctx, ratelimit.Limit{Rule: SignupPerIP, Key: ip}); err != nil {
		s.logger.WarnContext(ctx, "sign-up rate limited", "ip", ip)
		return err
	}
	email, name = strings.TrimSpace(email), strings.TrimSpace(name)
	password = NormalizePassword(password)
	if problems := checkNewAccount(email, name, password); len(problems) > 0 {
		return problems
	}
	if err := s.take(ctx, ratelimit.Limit{Rule: SignupPerAddress, Key: NormalizeEmail(email)}); err != nil {
		s.logger.WarnContext(ctx, "sign-up rate limited", "rule", SignupPerAddress.Name, "ip", ip)
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		existing, err := s.userBy(ctx, tx, "email_normalized", NormalizeEmail(email))
		switch {
		case err == nil:
			s.logger.InfoContext(ctx, "sign-up for an existing account", "user_id", existing.ID)
			return s.queue(ctx, tx, "signup_existing", existing.Email, mail.Data{Name: addressee(existing), Link: s.link("/password/reset", "")})
		case !errors.Is(err, ErrNotFound):
			return err
		}
		now := s.clock.Now().UTC()
		id := rand.Text()
		res, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, password_changed_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email_normalized) DO NOTHING`,
			id, email, NormalizeEmail(email), name, hash, string(RoleUser), true, now, now)
		if err != nil {
			return fmt.Errorf("create account: %w", err)
		}
		switch n, err := res.RowsAffected(); {
		case err != nil:
			return fmt.Errorf("create account: %w", err)
		case n == 0:
			// Another sign-up for the address committed since the lookup:
			// the first one mails the link, and this one answers like it.
			s.logger.InfoContext(ctx, "concurrent sign-up for one address")
			return nil
		}
		s.logger.InfoContext(ctx, "account created", "user_id", id)
		return s.sendLink(ctx, tx, User{ID: id, Email: email, Name: name}, verifyLink)
	})
}

// ResendVerification queues the job that emails a new verification link
// if the address has an unverified account and otherwise does nothing,
// silently: the request does the same work either way (links.go). A
// malformed address gives Problems; a client (ip) or an address asking
// too often, a LimitedError.
func (s *Users) ResendVerification(ctx context.Context, email, ip string) error {
	if p := CheckEmail(email); p != "" {
		return Problems{"email": p}
	}
	if err := s.take(ctx, ratelimit.Limit{Rule: SignupPerIP, Key: ip}, ratelimit.Limit{Rule: ResendPerAddress, Key: NormalizeEmail(email)}); err != nil {
		return err
	}
	return s.queueLink(ctx, jobVerifyLink, email)
}

// CheckVerifyToken reports whether a verification link still works.
func (s *Users) CheckVerifyToken(ctx context.Context, token string) error {
	_, err := s.peekToken(ctx, token, purposeVerify)
	return err
}

// Verify uses a verification link: the address is confirmed and a welcome
// email queued.
func (s *Users) Verify(ctx context.Context, token string) (User, error) {
	var u User
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		if u, _, err = s.consumeToken(ctx, tx, token, purposeVerify); err != nil {
			return err
		}
		if u.Verified() {
			return nil
		}
		u.EmailVerifiedAt = sql.NullTime{Time: s.clock.Now().UTC(), Valid: true}
		if err := updateChecked(ctx, tx, u, "email_verified_at = ?", u.EmailVerifiedAt.Time); err != nil {
			return err
		}
		return s.queue(ctx, tx, "welcome", u.Email, mail.Data{Name: u.Name, Link: s.link("/dashboard", "")})
	})
	if err == nil {
		s.logger.InfoContext(ctx, "email verified", "user_id", u.ID)
	}
	return u, err
}

// SignIn is what a successful login starts, a session, written in the
// transaction that records the login.
type SignIn func(ctx context.Context, tx *database.Tx, u User) error

// Login checks an address and password for a client at ip, and on success
// records the sign-in and runs signIn (nil for none) in one transaction.
// Failures count against the client's address and against the account
// (whether or not it exists, so the limit says nothing either); while
// either is over its limit even the right password is refused with a
// LimitedError, before any hash is computed (see attempt). A correct
// password for an unverified account sends a new link, at most one per
// ResendPerAddress, and gives ErrNotVerified.
func (s *Users) Login(ctx context.Context, email, password, ip string, signIn SignIn) (User, error) {
	var (
		u       User
		newHash string
	)
	limits := []ratelimit.Limit{{Rule: LoginFailuresPerIP, Key: ip}, {Rule: LoginFailuresPerAccount, Key: NormalizeEmail(email)}}
	err := s.attempt(ctx, limits, func() error {
		var err error
		u, newHash, err = s.authenticate(ctx, email, password)
		return err
	}, func(tx *database.Tx) error {
		if err := s.recordLogin(ctx, tx, &u, newHash); err != nil {
			return err
		}
		if signIn == nil {
			return nil
		}
		return signIn(ctx, tx, u)
	})
	var limit *LimitedError
	switch {
	case errors.As(err, &limit):
		s.logger.WarnContext(ctx, "login rate limited", "rule", limit.Rule, "ip", ip)
	case errors.Is(err, ErrInvalidCredentials):
		// The address stays out of the log: it is personal data, and a
		// failed login's address may not even be the person's own.
		s.logger.WarnContext(ctx, "login failed", "ip", ip)
	case errors.Is(err, ErrInactive):
		s.logger.WarnContext(ctx, "login to a deactivated account", "user_id", u.ID)
	case errors.Is(err, ErrNotVerified):
		s.logger.InfoContext(ctx, "login before verification", "user_id", u.ID)
		resend := s.take(ctx, ratelimit.Limit{Rule: ResendPerAddress, Key: NormalizeEmail(email)})
		var limit *LimitedError
		switch {
		case errors.As(resend, &limit):
			// A link went out recently; the page says at most one every
			// three minutes.
		case resend != nil:
			return User{}, resend
		default:
			if resend = s.queueLink(ctx, jobVerifyLink, email); resend != nil {
				return User{}, resend
			}
		}
	case err == nil:
		s.logger.InfoContext(ctx, "login", "user_id", u.ID, "ip", ip)
	}
	return u, err
}

// authenticate checks an address and password, and writes nothing.
// Unknown addresses cost the same time as known ones (a dummy hash is
// checked). A correct password for an unverified or deactivated account
// gives ErrNotVerified or ErrInactive: only someone who knows the password
// learns that. A hash with outdated parameters comes with its replacement,
// newHash, hashed here so that recordLogin's transaction never waits on a
// hash.
func (s *Users) authenticate(ctx context.Context, email, password string) (u User, newHash string, err error) {
	password = NormalizePassword(password)
	u, err = s.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, "", err
	}
	ok, rehash, verr := s.hasher.Verify(ctx, password, u.PasswordHash)
	if verr != nil {
		return User{}, "", fmt.Errorf("check password of account %s: %w", u.ID, verr)
	}
	if !ok {
		return User{}, "", ErrInvalidCredentials
	}
	if !u.Active {
		return u, "", ErrInactive
	}
	if !u.Verified() {
		return u, "", ErrNotVerified
	}
	if rehash {
		if newHash, err = s.hasher.Hash(ctx, password); err != nil {
			return User{}, "", err
		}
	}
	return u, newHash, nil
}

// recordLogin records u's sign-in through tx, and replaces its password
// hash with newHash unless that is empty.
func (s *Users) recordLogin(ctx context.Context, tx *database.Tx, u *User, newHash string) error {
	now := s.clock.Now().UTC()
	if newHash != "" {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", newHash, u.ID); err != nil {
			return fmt.Errorf("update password hash: %w", err)
		}
		u.PasswordHash = newHash
		s.logger.InfoContext(ctx, "password rehashed with current parameters", "user_id", u.ID)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE users SET last_login_at = ? WHERE id = ?", now, u.ID); err != nil {
		return fmt.Errorf("record sign-in: %w", err)
	}
	u.LastLoginAt = sql.NullTime{Time: now, Valid: true}
	return nil
}

// Reauthenticate checks that password is the signed-in user's own, before
// a sensitive change. A wrong one gives ErrInvalidCredentials and counts
// against ReauthFailuresPerUser; past that limit every attempt gives a
// LimitedError.
func (s *Users) Reauthenticate(ctx context.Context, u User, password string) error {
	err := s.checkOwnPassword(ctx, u, password)
	if errors.Is(err, ErrInvalidCredentials) {
		s.logger.WarnContext(ctx, "reauthentication failed", "user_id", u.ID)
	}
	return err
}

// checkOwnPassword checks that password is the signed-in user u's own,
// under ReauthFailuresPerUser: a wrong one gives ErrInvalidCredentials and
// counts; past the limit every attempt gives a LimitedError unchecked.
func (s *Users) checkOwnPassword(ctx context.Context, u User, password string) error {
	return s.attempt(ctx, []ratelimit.Limit{{Rule: ReauthFailuresPerUser, Key: u.ID}}, func() error {
		ok, _, err := s.hasher.Verify(ctx, NormalizePassword(password), u.PasswordHash)
		if err == nil && !ok {
			err = ErrInvalidCredentials
		}
		return err
	}, nil)
}

// RequestReset queues the job that emails a reset link if the address has
// an active account, and with it stops any older reset link working.
// Unknown addresses get nothing, and the caller cannot tell, by answer or
// by time: the request does the same work either way (links.go). A
// malformed address gives Problems; a client (ip) or an address asking
// too often, a LimitedError.
func (s *Users) RequestReset(ctx context.Context, email, ip string) error {
	if p := CheckEmail(email); p != "" {
		return Problems{"email": p}
	}
	if err := s.take(ctx, ratelimit.Limit{Rule: ResetPerIP, Key: ip}, ratelimit.Limit{Rule: ResetPerAddress, Key: NormalizeEmail(email)}); err != nil {
		return err
	}
	return s.queueLink(ctx, jobResetLink, email)
}

// CheckResetToken reports whether a reset link still works.
func (s *Users) CheckResetToken(ctx context.Context, token string) error {
	_, err := s.peekToken(ctx, token, purposeReset)
	return err
}

// ResetPassword uses a reset link to set a new password and returns the
// account as it is now. The address is proven by the link, so it counts as
// verified too. Every session and link of the account ends with the old
// password (User.State). also, when set, runs in the reset's transaction
// once the password is set, for what the reset must take with it.
func (s *Users) ResetPassword(ctx context.Context, token, password string, also func(ctx context.Context, tx *database.Tx, u User) error) (User, error) {
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
		var err error
		if u, _, err = s.consumeToken(ctx, tx, token, purposeReset); err != nil {
			return err
		}
		now := s.clock.Now().UTC()
		if err := updateChecked(ctx, tx, u, "password_hash = ?, password_changed_at = ?, email_verified_at = COALESCE(email_verified_at, ?)",
			hash, now, now); err != nil {
			return err
		}
		u.PasswordHash = hash
		if also != nil {
			if err := also(ctx, tx, u); err != nil {
				return err
			}
		}
		return s.queue(ctx, tx, "password_changed", u.Email, mail.Data{Name: u.Name, Link: s.link("/password/reset", "")})
	})
	if err == nil {
		s.logger.InfoContext(ctx, "password reset", "user_id", u.ID)
	}
	return u, err
}

// ChangePassword sets a new password after checking the current one. A
// wrong current password changes nothing and counts against
// ReauthFailuresPerUser, as a failed reauthentication does: past the limit
// every attempt gives a LimitedError. The user is told by email; the
// caller ends their other sessions.
func (s *Users) ChangePassword(ctx context.Context, userID, current, password string) error {
	u, err := s.ByID(ctx, userID)
	if err != nil {
		return err
	}
	switch err := s.checkOwnPassword(ctx, u, current); {
	case errors.Is(err, ErrInvalidCredentials):
		return Problems{"current_password": "This is not your current password."}
	case err != nil:
		return err
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
			hash, s.clock.Now().UTC(), u.ID); err != nil {
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
func (s *Users) UpdateProfile(ctx context.Context, userID, name string) error {
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
// caller cannot tell. More than EmailChangePerUser requests give a
// LimitedError.
func (s *Users) RequestEmailChange(ctx context.Context, userID, newEmail string) error {
	if err := s.take(ctx, ratelimit.Limit{Rule: EmailChangePerUser, Key: userID}); err != nil {
		return err
	}
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
		if err := s.queue(ctx, tx, "email_change_confirm", newEmail, mail.Data{Link: s.link("/email/confirm", token), Expires: "24 hours"}); err != nil {
			return err
		}
		return s.queue(ctx, tx, "email_change_notice", u.Email, mail.Data{Name: u.Name, Email: newEmail, Link: s.link("/login", "")})
	})
}

// CheckEmailChangeToken reports whether an email change link still works.
func (s *Users) CheckEmailChangeToken(ctx context.Context, token string) error {
	_, err := s.peekToken(ctx, token, purposeEmailChange)
	return err
}

// ConfirmEmailChange uses an email change link: the account's address
// becomes the new, now verified, one and the old address is told.
func (s *Users) ConfirmEmailChange(ctx context.Context, token string) (User, error) {
	var u User
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var newEmail string
		var err error
		if u, newEmail, err = s.consumeToken(ctx, tx, token, purposeEmailChange); err != nil {
			return err
		}
		switch _, err := s.userBy(ctx, tx, "email_normalized", NormalizeEmail(newEmail)); {
		case err == nil:
			return ErrInvalidToken // taken since the link was sent
		case !errors.Is(err, ErrNotFound):
			return err
		}
		old := u.Email
		if err := updateChecked(ctx, tx, u, "email = ?, email_normalized = ?, email_verified_at = ?",
			newEmail, NormalizeEmail(newEmail), s.clock.Now().UTC()); err != nil {
			return err
		}
		u.Email = newEmail
		if s.onEmailChange != nil {
			if err := s.onEmailChange(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		return s.queue(ctx, tx, "email_changed", old, mail.Data{Name: u.Name, Email: newEmail})
	})
	if err == nil {
		s.logger.InfoContext(ctx, "email changed", "user_id", u.ID)
	}
	return u, err
}

// Delete removes the user's own account, as they asked, and tells them.
func (s *Users) Delete(ctx context.Context, userID string) error {
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		u, err := s.userBy(ctx, tx, "id", userID)
		if err != nil {
			return err
		}
		_, err = s.remove(ctx, tx, u, removal{actorID: u.ID, action: "account.deleted", email: "account_deleted"})
		return err
	})
}

// removal is how an account goes: who removes it (the audit entry's
// actor), the audit action and the email that tells the owner ("" for
// none).
type removal struct {
	actorID, action, email string
	// unverifiedOnly spares an account whose address was confirmed since
	// it was chosen for removal.
	unverifiedOnly bool
}

// remove deletes u in tx, and with it everything that references the
// account (sessions, links, API keys, credits and runs: ON DELETE
// CASCADE), and writes the audit entry, whose detail is what Keep keeps
// of those records. What is kept: the audit log's rows naming the
// account's id (never its address or name) and the goodbye email in the
// outbox. It reports whether the account was removed.
func (s *Users) remove(ctx context.Context, tx *database.Tx, u User, r removal) (bool, error) {
	var kept string
	if s.keep != nil {
		var err error
		if kept, err = s.keep(ctx, tx, u.ID); err != nil {
			return false, err
		}
	}
	query := "DELETE FROM users WHERE id = ?"
	if r.unverifiedOnly {
		query += " AND email_verified_at IS NULL"
	}
	res, err := tx.ExecContext(ctx, query, u.ID)
	if err != nil {
		return false, fmt.Errorf("delete account: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("delete account: %w", err)
	} else if n == 0 {
		return false, nil
	}
	if err := audit.Record(ctx, tx, audit.Entry{At: s.clock.Now(), ActorID: r.actorID, TargetID: u.ID, Action: r.action, Detail: kept}); err != nil {
		return false, err
	}
	s.logger.InfoContext(ctx, "account deleted", "user_id", u.ID, "action", r.action, "actor_id", r.actorID)
	if r.email == "" {
		return true, nil
	}
	return true, s.queue(ctx, tx, r.email, u.Email, mail.Data{Name: u.Name})
}
