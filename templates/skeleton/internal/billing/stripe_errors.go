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

// stripeFailure is a failed call to Stripe: err says what failed in words
// (a *stripe.Error's own text is JSON), api is Stripe's answer for
// errors.As (nil when there was none), so that callers can tell a refusal
// from an outage, and kind is what it means, if anything.
type stripeFailure struct {
	err  error
	api  *stripe.Error
	kind error
}

func (f *stripeFailure) Error() string { return f.err.Error() }

func (f *stripeFailure) Unwrap() []error {
	out := []error{f.err}
	if f.api != nil {
		out = append(out, f.api)
	}
	if f.kind != nil {
		out = append(out, f.kind)
	}
	return out
}

// classify attaches to err, a failed call whose answer from Stripe's API
// was se (nil: no answer), Stripe's answer and what it means.
func classify(se *stripe.Error, err error) error {
	f := &stripeFailure{err: err, api: se}
	switch {
	case se == nil, se.HTTPStatusCode >= http.StatusInternalServerError, se.HTTPStatusCode == http.StatusTooManyRequests:
		f.kind = ErrStripeUnavailable
	case se.Code == stripe.ErrorCodeResourceMissing:
		f.kind = ErrStripeNoSuchObject
	}
	return f
}
