package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Stripe is what billing asks of Stripe. StripeAPI is the real one; tests
// of fulfillment use one they control, since no test server keeps what
// was created (stripe-mock is stateless).
type Stripe interface {
	// CreateCustomer creates the Stripe customer of one of our users.
	CreateCustomer(ctx context.Context, c NewCustomer) (customerID string, err error)
	// Customer retrieves a customer; UpdateCustomerEmail changes its email.
	Customer(ctx context.Context, id string) (Customer, error)
	UpdateCustomerEmail(ctx context.Context, customerID, email string) error
	// CreateCheckoutSession starts a hosted checkout for one package.
	CreateCheckoutSession(ctx context.Context, c NewCheckout) (CheckoutSession, error)
	// CheckoutSession retrieves a session with its line items.
	CheckoutSession(ctx context.Context, id string) (CheckoutSession, error)
	// CreatePortalSession starts a customer portal session (receipts,
	// payment methods) that returns to returnURL, and gives its address.
	CreatePortalSession(ctx context.Context, customerID, returnURL string) (url string, err error)
	// Charge retrieves a charge, with what is refunded of it so far.
	Charge(ctx context.Context, id string) (Charge, error)
	// Dispute retrieves a dispute.
	Dispute(ctx context.Context, id string) (Dispute, error)
	// CreateRefund refunds (part of) a payment.
	CreateRefund(ctx context.Context, r NewRefund) (Refund, error)
	// CreateProduct, UpdateProduct, CreatePrice and DeactivatePrice keep
	// the catalogue in Stripe.
	CreateProduct(ctx context.Context, p Product, idempotencyKey string) (productID string, err error)
	UpdateProduct(ctx context.Context, p Product) error
	CreatePrice(ctx context.Context, p NewPrice, idempotencyKey string) (priceID string, err error)
	DeactivatePrice(ctx context.Context, priceID string) error
	// CreateWebhookEndpoint creates the endpoint Stripe delivers to.
	CreateWebhookEndpoint(ctx context.Context, e NewWebhookEndpoint) (WebhookEndpoint, error)
}

// NewCustomer is the customer to create for a user.
type NewCustomer struct {
	UserID string
	Email  string
	Name   string
	// IdempotencyKey makes a retried request create one customer.
	IdempotencyKey string
}

// NewCheckout is a checkout session to start.
type NewCheckout struct {
	CustomerID string
	PriceID    string
	// ClientReferenceID is our purchase's id: the completed session
	// leads back to the purchase by it.
	ClientReferenceID string
	// SuccessURL contains {CHECKOUT_SESSION_ID}, which Stripe replaces.
	SuccessURL string
	CancelURL  string
	// IdempotencyKey is derived from our purchase row, so retrying one
	// purchase makes one session.
	IdempotencyKey string
}

// Payment statuses of a checkout session.
const (
	PaymentPaid   = "paid"
	PaymentUnpaid = "unpaid"
)

// Statuses of a checkout session: open until paid for or given up;
// expired after 24 hours unpaid, or when expired through the API.
const (
	SessionOpen     = "open"
	SessionComplete = "complete"
	SessionExpired  = "expired"
)

// CheckoutSession is what billing reads of a Stripe checkout session.
type CheckoutSession struct {
	ID  string
	URL string
	// Status is SessionOpen, SessionComplete or SessionExpired.
	Status string
	// PaymentStatus is PaymentPaid once the money is ours; a delayed
	// method (a bank debit) completes the session unpaid first.
	PaymentStatus     string
	ClientReferenceID string
	CustomerID        string
	PaymentIntentID   string
	// AmountTotal is in the currency's minor unit.
	AmountTotal int64
	Currency    string
	LineItems   []LineItem
}

// LineItem is one line of a checkout session.
type LineItem struct {
	PriceID     string
	Quantity    int64
	AmountTotal int64
	Currency    string
}

// StripeAPI is Stripe itself, through stripe-go's client: no package
// globals, so each instance has its own key and backend.
type StripeAPI struct {
	api *client.API
}

// stripeTimeout bounds one call to Stripe, retries included.
const stripeTimeout = 30 * time.Second

// NewStripeAPI returns the Stripe API under secretKey. baseURL, when not
// empty, replaces Stripe's address (a test server such as stripe-mock).
func NewStripeAPI(secretKey, baseURL string) *StripeAPI {
	config := &stripe.BackendConfig{
		HTTPClient: &http.Client{Timeout: stripeTimeout},
		// stripe-go logs errors to stderr by itself; ours are returned and
		// logged by the caller with the request's context.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if baseURL != "" {
		config.URL = stripe.String(baseURL)
	}
	return &StripeAPI{api: client.New(secretKey, stripe.NewBackendsWithConfig(config))}
}

// CreateCustomer implements Stripe.
func (s *StripeAPI) CreateCustomer(ctx context.Context, c NewCustomer) (string, error) {
	params := &stripe.CustomerParams{Email: stripe.String(c.Email), Name: stripe.String(c.Name)}
	params.Context = ctx
	params.AddMetadata("user_id", c.UserID)
	params.SetIdempotencyKey(c.IdempotencyKey)
	cust, err := s.api.Customers.New(params)
	if err != nil {
		return "", stripeError("create a Stripe customer", err)
	}
	return cust.ID, nil
}

// Customer implements Stripe.
func (s *StripeAPI) Customer(ctx context.Context, id string) (Customer, error) {
	params := &stripe.CustomerParams{}
	params.Context = ctx
	cust, err := s.api.Customers.Get(id, params)
	if err != nil {
		return Customer{}, stripeError("retrieve Stripe customer "+id, err)
	}
	return Customer{ID: cust.ID, Email: cust.Email}, nil
}

// UpdateCustomerEmail implements Stripe.
func (s *StripeAPI) UpdateCustomerEmail(ctx context.Context, customerID, email string) error {
	params := &stripe.CustomerParams{Email: stripe.String(email)}
	params.Context = ctx
	if _, err := s.api.Customers.Update(customerID, params); err != nil {
		return stripeError("update Stripe customer "+customerID, err)
	}
	return nil
}

// CreateCheckoutSession implements Stripe.
func (s *StripeAPI) CreateCheckoutSession(ctx context.Context, c NewCheckout) (CheckoutSession, error) {
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		Customer:          stripe.String(c.CustomerID),
		ClientReferenceID: stripe.String(c.ClientReferenceID),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(c.PriceID), Quantity: stripe.Int64(1)}},
		SuccessURL:        stripe.String(c.SuccessURL),
		CancelURL:         stripe.String(c.CancelURL),
	}
	params.Context = ctx
	params.SetIdempotencyKey(c.IdempotencyKey)
	sess, err := s.api.CheckoutSessions.New(params)
	if err != nil {
		return CheckoutSession{}, stripeError("create a Stripe checkout session", err)
	}
	return fromStripe(sess), nil
}

// CheckoutSession implements Stripe.
func (s *StripeAPI) CheckoutSession(ctx context.Context, id string) (CheckoutSession, error) {
	params := &stripe.CheckoutSessionParams{}
	params.Context = ctx
	// A session's line items are left out unless asked for; they say
	// which price was paid.
	params.AddExpand("line_items")
	sess, err := s.api.CheckoutSessions.Get(id, params)
	if err != nil {
		return CheckoutSession{}, stripeError("retrieve Stripe checkout session "+id, err)
	}
	return fromStripe(sess), nil
}

// CreatePortalSession implements Stripe.
func (s *StripeAPI) CreatePortalSession(ctx context.Context, customerID, returnURL string) (string, error) {
	params := &stripe.BillingPortalSessionParams{Customer: stripe.String(customerID), ReturnURL: stripe.String(returnURL)}
	params.Context = ctx
	sess, err := s.api.BillingPortalSessions.New(params)
	if err != nil {
		return "", stripeError("create a Stripe customer portal session", err)
	}
	return sess.URL, nil
}

func fromStripe(s *stripe.CheckoutSession) CheckoutSession {
	out := CheckoutSession{
		ID: s.ID, URL: s.URL, Status: string(s.Status), PaymentStatus: string(s.PaymentStatus), ClientReferenceID: s.ClientReferenceID,
		AmountTotal: s.AmountTotal, Currency: string(s.Currency),
	}
	if s.Customer != nil {
		out.CustomerID = s.Customer.ID
	}
	if s.PaymentIntent != nil {
		out.PaymentIntentID = s.PaymentIntent.ID
	}
	if s.LineItems != nil {
		for _, li := range s.LineItems.Data {
			item := LineItem{Quantity: li.Quantity, AmountTotal: li.AmountTotal, Currency: string(li.Currency)}
			if li.Price != nil {
				item.PriceID = li.Price.ID
			}
			out.LineItems = append(out.LineItems, item)
		}
	}
	return out
}

// stripeError says what failed and, for an error from Stripe's API, its
// type, code and request id (for Stripe's support), never the key.
func stripeError(what string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return &stripeFailure{fmt.Sprintf("%s: Stripe answered %d (%s %s, request %s): %s", what, se.HTTPStatusCode, se.Type, se.Code, se.RequestID, se.Msg), se}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// stripeFailure keeps Stripe's error for errors.As, so that callers can
// tell a refusal from an outage, and says it in words (stripe.Error's own
// text is JSON).
type stripeFailure struct {
	msg string
	err *stripe.Error
}

func (e *stripeFailure) Error() string { return e.msg }
func (e *stripeFailure) Unwrap() error { return e.err }
