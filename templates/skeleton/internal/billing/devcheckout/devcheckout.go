// Package devcheckout is Stripe for development without keys
// (STRIPE_FAKE=true): a billing.Stripe whose checkout is the application's
// own pay page, /dev/checkout/{id}, so that the whole purchase can be
// tried in a browser out of the box. Paying there marks the session paid
// and hands back a checkout.session.completed event signed with the
// webhook secret, as Stripe signs one, for the caller to deliver to the
// real webhook handler: from there on the purchase goes the way a real
// one does (verification, the event job, Fulfill).
//
// Its sessions and payments live in memory, for one process: a
// development server is one process, and a table would put a schema that
// only development uses into every production database. A restart forgets
// open sessions: asked about one, it answers as Stripe does for a session
// it does not have (resource_missing), and the reconciler gives its
// purchase up. Its customer ids (cus_fake_...)
// stay in stripe_customers.
package devcheckout

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// PayPath is where a session's pay page is served: PayPath + its id.
const PayPath = "/dev/checkout/"

// Session is an open or paid fake checkout, with where Stripe would send
// the buyer afterwards.
type Session struct {
	billing.CheckoutSession
	SuccessURL string
	CancelURL  string
	// Package is what the session sells, for the pay page.
	Package billing.Package
}

// Catalogue is how the fake reads a price: the application's own
// catalogue (billing.PackageByPrice), as Stripe would have been told.
type Catalogue func(ctx context.Context, priceID string) (billing.Package, error)

// Stripe is the fake.
type Stripe struct {
	baseURL       string
	webhookSecret string
	mu            sync.Mutex
	catalogue     Catalogue
	sessions      map[string]Session
	checkouts     map[string]string // sessions' ids by idempotency key
	charges       map[string]*billing.Charge
	byIntent      map[string]string         // charges' ids by payment intent
	refunds       map[string]billing.Refund // by idempotency key
}

// New returns the fake of an application at baseURL whose webhook
// endpoint has the signing secret webhookSecret.
func New(baseURL, webhookSecret string) *Stripe {
	return &Stripe{baseURL: strings.TrimSuffix(baseURL, "/"), webhookSecret: webhookSecret,
		sessions: map[string]Session{}, checkouts: map[string]string{}, charges: map[string]*billing.Charge{},
		byIntent: map[string]string{}, refunds: map[string]billing.Refund{}}
}

// SellFrom gives the fake the catalogue its prices come from; billing is
// built on the fake, so this comes after.
func (s *Stripe) SellFrom(c Catalogue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catalogue = c
}

// ErrNoSession is the answer for a session this process did not create.
var ErrNoSession = errors.New("no such fake checkout session (the development server forgets its checkouts when it restarts: start a new purchase)")

// CreateCustomer implements billing.Stripe. It keeps no customers: the
// id is all billing stores (the first one of a user wins there), and the
// fake's sessions take any customer id.
func (s *Stripe) CreateCustomer(context.Context, billing.NewCustomer) (string, error) {
	return "cus_fake_" + rand.Text(), nil
}

// CreateCheckoutSession implements billing.Stripe: an open, unpaid
// session of the price, whose page is the application's own; one
// idempotency key gives one session, as at Stripe.
func (s *Stripe) CreateCheckoutSession(ctx context.Context, c billing.NewCheckout) (billing.CheckoutSession, error) {
	s.mu.Lock()
	catalogue := s.catalogue
	s.mu.Unlock()
	pkg, err := catalogue(ctx, c.PriceID)
	if err != nil {
		return billing.CheckoutSession{}, fmt.Errorf("fake checkout: price %s: %w", c.PriceID, err)
	}
	id := "cs_fake_" + rand.Text()
	sess := Session{
		CheckoutSession: billing.CheckoutSession{
			ID: id, URL: s.baseURL + PayPath + id, Status: billing.SessionOpen, PaymentStatus: billing.PaymentUnpaid,
			ClientReferenceID: c.ClientReferenceID, CustomerID: c.CustomerID, AmountTotal: pkg.UnitAmount, Currency: pkg.Currency,
			LineItems: []billing.LineItem{{PriceID: c.PriceID, Quantity: 1, AmountTotal: pkg.UnitAmount, Currency: pkg.Currency}},
		},
		SuccessURL: strings.ReplaceAll(c.SuccessURL, "{CHECKOUT_SESSION_ID}", id),
		CancelURL:  c.CancelURL,
		Package:    pkg,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if earlier, again := s.sessions[s.checkouts[c.IdempotencyKey]]; again {
		return earlier.CheckoutSession, nil
	}
	s.sessions[id] = sess
	s.checkouts[c.IdempotencyKey] = id
	return sess.CheckoutSession, nil
}

// CheckoutSession implements billing.Stripe. A session it does not know
// was made before a restart, and is gone: billing.ErrStripeNoSuchObject,
// as from Stripe. (A made-up expired session would lack the purchase it
// belonged to, and read as a payment that does not match its order.)
func (s *Stripe) CheckoutSession(_ context.Context, id string) (billing.CheckoutSession, error) {
	sess, err := s.Session(id)
	if errors.Is(err, ErrNoSession) {
		return billing.CheckoutSession{}, fmt.Errorf("fake checkout session %s: %w: %w", id, ErrNoSession, billing.ErrStripeNoSuchObject)
	}
	return sess.CheckoutSession, err
}

// CreatePortalSession implements billing.Stripe. The fake has no portal
// (no saved cards, no receipts of its own): the link leads back.
func (s *Stripe) CreatePortalSession(_ context.Context, _, returnURL string) (string, error) {
	return returnURL, nil
}

// Session returns the fake session with the id.
func (s *Stripe) Session(id string) (Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return Session{}, ErrNoSession
	}
	return sess, nil
}

// Delivery is a webhook delivery as Stripe makes one: the event's JSON
// and its Stripe-Signature header.
type Delivery struct {
	Payload   []byte
	Signature string
}

// Pay marks the session paid, as Stripe does once the card is charged,
// and returns the signed checkout.session.completed event that tells the
// application so. Paying a paid session again changes nothing and gives
// a new delivery of the same event, as Stripe redelivers.
func (s *Stripe) Pay(id string, at time.Time) (Session, Delivery, error) {
	s.mu.Lock()
	sess, ok := s.sessions[id]
	if ok && sess.PaymentStatus != billing.PaymentPaid {
		sess.Status, sess.PaymentStatus, sess.PaymentIntentID = billing.SessionComplete, billing.PaymentPaid, "pi_fake_"+rand.Text()
		s.sessions[id] = sess
		s.charge(sess)
	}
	s.mu.Unlock()
	if !ok {
		return Session{}, Delivery{}, ErrNoSession
	}
	payload, err := json.Marshal(map[string]any{
		"id": "evt_fake_" + id, "object": "event", "type": billing.EventCheckoutCompleted, "api_version": stripe.APIVersion,
		"created": at.Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": map[string]any{"id": id, "object": "checkout.session",
			"client_reference_id": sess.ClientReferenceID, "payment_status": sess.PaymentStatus}},
	})
	if err != nil {
		return Session{}, Delivery{}, fmt.Errorf("fake checkout: encode the event: %w", err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: s.webhookSecret, Timestamp: at})
	return sess, Delivery{Payload: signed.Payload, Signature: signed.Header}, nil
}

// Demo is the catalogue the fake offers when the application has none,
// so that there is something to buy: prices in the configured currency.
func Demo(currency string) []billing.Package {
	return []billing.Package{
		{Name: "Starter", Credits: 100, UnitAmount: 500, Currency: currency, SortOrder: 1, Active: true, StripePriceID: "price_fake_starter"},
		{Name: "Growth", Credits: 500, UnitAmount: 2000, Currency: currency, SortOrder: 2, Active: true, StripePriceID: "price_fake_growth"},
		{Name: "Scale", Credits: 2000, UnitAmount: 6000, Currency: currency, SortOrder: 3, Active: true, StripePriceID: "price_fake_scale"},
	}
}
