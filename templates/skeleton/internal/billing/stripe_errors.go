package billing

import (
	"errors"
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// What a failed call to Stripe means for its caller: try again later, or
// the object is not there. Any other failure (a request Stripe refuses
// with a 4xx) is a fault of ours, which trying again does not mend.
var (
	// ErrStripeUnavailable marks a call Stripe did not answer (network,
	// timeout) or failed on its side (5xx, or 429 rate limited).
	ErrStripeUnavailable = errors.New("stripe did not answer")
	// ErrStripeNoSuchObject marks Stripe's resource_missing: the id names
	// nothing in this account (and mode).
	ErrStripeNoSuchObject = errors.New("stripe has no such object")
)

// stripeFailure is a Stripe error with its meaning attached; its message
// is the error's own.
type stripeFailure struct {
	err, kind error
}

func (f *stripeFailure) Error() string   { return f.err.Error() }
func (f *stripeFailure) Unwrap() []error { return []error{f.err, f.kind} }

// classify attaches to err, a failed call whose answer from Stripe's API
// was se (nil: no answer), what it means.
func classify(se *stripe.Error, err error) error {
	switch {
	case se == nil, se.HTTPStatusCode >= http.StatusInternalServerError, se.HTTPStatusCode == http.StatusTooManyRequests:
		return &stripeFailure{err: err, kind: ErrStripeUnavailable}
	case se.Code == stripe.ErrorCodeResourceMissing:
		return &stripeFailure{err: err, kind: ErrStripeNoSuchObject}
	}
	return err
}
