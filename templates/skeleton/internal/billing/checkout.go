package billing

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Buyer is the user who buys.
type Buyer struct {
	UserID string
	Email  string
	Name   string
}

// CheckoutRequest asks for a checkout of one package.
type CheckoutRequest struct {
	Buyer     Buyer
	PackageID string
	// SuccessURL must contain {CHECKOUT_SESSION_ID}; Stripe sends the
	// buyer there with the session's id in its place.
	SuccessURL string
	CancelURL  string
	// PurchaseID, when set, is the id the purchase gets: the buy form's
	// one-time key, so that a double click or a resent form makes one
	// purchase and, through its idempotency key, one session. Empty, a
	// new id is drawn.
	PurchaseID string
}

// ErrPurchaseKeyUsed refuses a purchase id already used by another
// purchase, or by one that is over: the form was used before.
var ErrPurchaseKeyUsed = errors.New("this buy form was already used: reload the page and buy again")

// ErrBadPurchaseKey refuses a purchase id that is not of the form
// Checkout draws: the form was not the buy page's, or was damaged.
var ErrBadPurchaseKey = errors.New("the buy form's one-time key is malformed: reload the buy page and choose your package again")

// ErrCheckoutClosed refuses a resent buy form whose checkout session is no
// longer open (paid, expired, or gone at Stripe): it cannot be paid again,
// and a second session for the same purchase would never be fulfilled.
var ErrCheckoutClosed = errors.New("the checkout this buy form started is closed: see your payments, then reload the buy page to buy again")

// purchaseID is the form of the ids Checkout draws (rand.Text), the only
// form a caller's PurchaseID may take.
var purchaseID = regexp.MustCompile(`^[A-Z2-7]{26}$`)

// sessionIDVariable is Stripe's template variable for the session's id in
// a success URL, which Stripe fills in when it sends the buyer back.
const sessionIDVariable = "{CHECKOUT_SESSION_ID}"

// Checkout records a pending purchase of the package, creating the
// buyer's Stripe customer on their first purchase, and starts its Stripe
// checkout session, whose URL the buyer is sent to.
func (b *Billing) Checkout(ctx context.Context, r CheckoutRequest) (Purchase, CheckoutSession, error) {
	if !strings.Contains(r.SuccessURL, sessionIDVariable) {
		return Purchase{}, CheckoutSession{}, fmt.Errorf("the success URL must contain %s, for the success page to find the session", sessionIDVariable)
	}
	pkg, err := b.Package(ctx, r.PackageID)
	if err != nil {
		return Purchase{}, CheckoutSession{}, err
	}
	if !pkg.Active || pkg.StripePriceID == "" {
		return Purchase{}, CheckoutSession{}, ErrNotForSale
	}
	customer, err := b.customer(ctx, r.Buyer)
	if err != nil {
		return Purchase{}, CheckoutSession{}, err
	}
	p, err := b.recordPurchase(ctx, r, pkg)
	if err != nil {
		return Purchase{}, CheckoutSession{}, err
	}
	if p.CheckoutSessionID != "" {
		return b.resumeCheckout(ctx, p)
	}
	// Should this process stop before the session's id is stored, the
	// session still names the purchase (client_reference_id), and
	// fulfillment finds it by that.
	sess, err := b.stripe.CreateCheckoutSession(ctx, NewCheckout{
		CustomerID: customer, PriceID: pkg.StripePriceID, ClientReferenceID: p.ID,
		SuccessURL: r.SuccessURL, CancelURL: r.CancelURL, IdempotencyKey: "checkout-" + p.ID,
	})
	if err != nil {
		return Purchase{}, CheckoutSession{}, err
	}
	res, err := b.db.ExecContext(ctx,
		"UPDATE purchases SET checkout_session_id = ?, updated_at = ? WHERE id = ? AND checkout_session_id IS NULL",
		sess.ID, b.now(), p.ID)
	var stored int64
	if err == nil {
		stored, err = res.RowsAffected()
	}
	if err != nil {
		return Purchase{}, CheckoutSession{}, fmt.Errorf("record the checkout session: %w", err)
	}
	if stored == 0 {
		// A resent form stored its session first. Stripe answers one
		// idempotency key with one session, but not after 24 hours, nor
		// the fake checkout after a restart: a session of ours that is
		// not the stored one would never be fulfilled, so the buyer goes
		// to the stored one.
		if p, err = b.Purchase(ctx, p.ID); err != nil {
			return Purchase{}, CheckoutSession{}, err
		}
		return b.resumeCheckout(ctx, p)
	}
	p.CheckoutSessionID = sess.ID
	return p, sess, nil
}

// resumeCheckout returns the checkout session the purchase already holds,
// while it is open; a paid or expired one cannot be paid again.
func (b *Billing) resumeCheckout(ctx context.Context, p Purchase) (Purchase, CheckoutSession, error) {
	if p.CheckoutSessionID == "" || p.Status != StatusPending {
		return Purchase{}, CheckoutSession{}, ErrCheckoutClosed
	}
	sess, err := b.stripe.CheckoutSession(ctx, p.CheckoutSessionID)
	switch {
	case errors.Is(err, ErrStripeNoSuchObject):
		return Purchase{}, CheckoutSession{}, ErrCheckoutClosed
	case err != nil:
		return Purchase{}, CheckoutSession{}, err
	case sess.Status != SessionOpen:
		return Purchase{}, CheckoutSession{}, ErrCheckoutClosed
	}
	return p, sess, nil
}

// recordPurchase writes the pending purchase, or finds the one its
// PurchaseID already made for the same buyer and package, still pending,
// with the session it may have.
func (b *Billing) recordPurchase(ctx context.Context, r CheckoutRequest, pkg Package) (Purchase, error) {
	id := r.PurchaseID
	switch {
	case id == "":
		id = rand.Text()
	case !purchaseID.MatchString(id):
		return Purchase{}, ErrBadPurchaseKey
	}
	now := b.now()
	p := Purchase{ID: id, UserID: r.Buyer.UserID, PackageID: pkg.ID, Status: StatusPending,
		Credits: pkg.Credits, Amount: pkg.UnitAmount, Currency: pkg.Currency, CreatedAt: now}
	res, err := b.db.ExecContext(ctx,
		`INSERT INTO purchases (id, user_id, package_id, status, credits, amount, currency, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		p.ID, p.UserID, p.PackageID, p.Status, p.Credits, p.Amount, p.Currency, now, now)
	if err != nil {
		return Purchase{}, fmt.Errorf("record the purchase: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return p, err
	}
	earlier, err := b.Purchase(ctx, id)
	if err != nil {
		return Purchase{}, err
	}
	if earlier.UserID != p.UserID || earlier.PackageID != p.PackageID || earlier.Status != StatusPending {
		return Purchase{}, ErrPurchaseKeyUsed
	}
	return earlier, nil
}

// customer returns the buyer's Stripe customer, creating it on first use.
// Two first purchases at once may both ask Stripe; the idempotency key
// makes that one customer, and the row keeps the first answer.
func (b *Billing) customer(ctx context.Context, buyer Buyer) (string, error) {
	id, err := b.customerOf(ctx, buyer.UserID)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return id, err
	}
	id, err = b.stripe.CreateCustomer(ctx, NewCustomer{UserID: buyer.UserID, Email: buyer.Email, Name: buyer.Name,
		IdempotencyKey: "customer-" + buyer.UserID})
	if err != nil {
		return "", err
	}
	if _, err := b.db.ExecContext(ctx,
		"INSERT INTO stripe_customers (user_id, customer_id, created_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
		buyer.UserID, id, b.now()); err != nil {
		return "", fmt.Errorf("record the Stripe customer: %w", err)
	}
	return b.customerOf(ctx, buyer.UserID)
}

func (b *Billing) customerOf(ctx context.Context, userID string) (string, error) {
	var id string
	err := b.db.QueryRowContext(ctx, "SELECT customer_id FROM stripe_customers WHERE user_id = ?", userID).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read the Stripe customer: %w", err)
	}
	return id, err
}
