package web

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/devcheckout"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
)

// The fake checkout of development (STRIPE_FAKE=true): the pay page that
// stands in for Stripe's, served only when Deps.DevCheckout is set, which
// configuration refuses in production.

// devCheckoutPage is what templates/billing/dev_checkout.html shows.
type devCheckoutPage struct {
	Session devcheckout.Session
	Price   string
	Paid    bool
}

// devSession returns the fake session of the path's id when it is the
// signed-in user's; any other is a 404.
func (s *server) devSession(w http.ResponseWriter, r *http.Request) (devcheckout.Session, bool) {
	sess, err := s.DevCheckout.Session(r.PathValue("id"))
	if err == nil {
		_, err = s.Billing.PurchaseOf(r.Context(), currentUser(r).ID, sess.ClientReferenceID)
	}
	if errors.Is(err, devcheckout.ErrNoSession) {
		err = billing.ErrNoSuchPurchase
	}
	return sess, purchaseFound(w, r, s.pages, err)
}

func (s *server) devCheckout() http.Handler {
	if s.DevCheckout == nil {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.devSession(w, r)
		if !ok {
			return
		}
		s.pages.Page(w, r, http.StatusOK, "billing/dev_checkout", views.Page{Title: "Test checkout", Data: devCheckoutPage{
			Session: sess, Price: billing.FormatAmount(sess.AmountTotal, sess.Currency), Paid: sess.PaymentStatus == billing.PaymentPaid}})
	})
}

// devCheckoutPay pays the fake session and tells the application as
// Stripe would: the signed checkout.session.completed goes through the
// real webhook handler (verified, recorded, its job queued). Then the
// buyer goes to the success URL, as from Stripe's page.
func (s *server) devCheckoutPay() http.Handler {
	if s.DevCheckout == nil {
		return nil
	}
	webhook := s.stripeWebhook()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, s.pages, form.MaxBytes) {
			return
		}
		if _, ok := s.devSession(w, r); !ok {
			return
		}
		sess, d, err := s.DevCheckout.Pay(r.PathValue("id"), s.Clock.Now())
		if err != nil {
			s.pages.Fail(w, r, err)
			return
		}
		delivery, err := http.NewRequestWithContext(r.Context(), http.MethodPost, "/stripe/webhook", bytes.NewReader(d.Payload))
		if err != nil {
			s.pages.Fail(w, r, err)
			return
		}
		delivery.Header.Set("Content-Type", "application/json; charset=utf-8")
		delivery.Header.Set("Stripe-Signature", d.Signature)
		answer := &answerRecorder{header: http.Header{}}
		webhook.ServeHTTP(answer, delivery)
		if answer.status != http.StatusOK {
			s.Logger.ErrorContext(r.Context(), "fake checkout: the webhook refused the delivery", "status", answer.status, "answer", answer.body.String())
			s.pages.Fail(w, r, errors.New("the webhook refused the fake checkout's delivery"))
			return
		}
		http.Redirect(w, r, sess.SuccessURL, http.StatusSeeOther)
	})
}

// answerRecorder keeps the answer of a handler called in process.
type answerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *answerRecorder) Header() http.Header { return a.header }

func (a *answerRecorder) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(b)
}
