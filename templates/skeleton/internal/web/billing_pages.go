package web

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// The pages that sell credits: the public pricing page, the signed-in buy
// page and its checkout, the pages Stripe sends the buyer back to, and
// the buyer's payment history and receipts. With payments off only the
// pricing page is served, and says so.

// checkoutPerUser bounds the checkout sessions one user starts: each asks
// Stripe for a session, and a loop of them would spend the account's
// Stripe rate limit.
var checkoutPerUser = ratelimit.Rule{Name: "checkout-user", Limit: 10, Window: 10 * time.Minute}

// Where Stripe sends the buyer back to, under BASE_URL.
const (
	purchasesPath = "/credits/purchases"
	successPath   = purchasesPath + "/success"
	cancelPath    = purchasesPath + "/cancel"
	buyPath       = "/credits/buy"
)

// paying is the handler h builds from billing, or nil (not served) while
// payments are off.
func (s *server) paying(h func(b *billing.Billing, p *response.Pages) http.Handler) http.Handler {
	if s.Billing == nil {
		return nil
	}
	return h(s.Billing, s.pages)
}

// packageOffer is one package on the pricing and buy pages, with the buy
// form's one-time key.
type packageOffer struct {
	billing.Package
	Price string
	Key   string
}

// pricingPage is what templates/billing/pricing.html shows.
type pricingPage struct {
	// Enabled is false while payments are off.
	Enabled bool
	// Buy is true on the signed-in buy page: each package has its form.
	Buy    bool
	Offers []packageOffer
	// Fake is true with STRIPE_FAKE: no money moves.
	Fake bool
}

// offers lists what b sells, or nothing when payments are off.
func offers(ctx context.Context, b *billing.Billing) ([]packageOffer, error) {
	if b == nil {
		return nil, nil
	}
	packages, err := b.ForSale(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]packageOffer, 0, len(packages))
	for _, p := range packages {
		out = append(out, packageOffer{Package: p, Price: billing.FormatAmount(p.UnitAmount, p.Currency), Key: rand.Text()})
	}
	return out, nil
}

// handlePricing is the public pricing page (buy=false) and the signed-in
// buy page (buy=true).
func handlePricing(p *response.Pages, b *billing.Billing, fake, buy bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := offers(r.Context(), b)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		title := "Pricing"
		if buy {
			title = "Buy credits"
		}
		p.Page(w, r, http.StatusOK, "billing/pricing", views.Page{Title: title,
			Description: "Credit packages and their prices.",
			Data:        pricingPage{Enabled: b != nil, Buy: buy, Offers: list, Fake: fake}})
	})
}

// buy starts the checkout of one package and sends the buyer to Stripe's
// page (303). The form's key is the purchase's id, so a double click goes
// to one session.
func (s *server) buy(b *billing.Billing, p *response.Pages) http.Handler {
	base := strings.TrimSuffix(s.Config.BaseURL.String(), "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		user := currentUser(r)
		ctx := r.Context()
		_, err := s.Limiter.Take(ctx, ratelimit.Limit{Rule: checkoutPerUser, Key: user.ID})
		var limit *ratelimit.ExceededError
		switch {
		case errors.As(err, &limit):
			retryAfter(w, limit.RetryAfter)
			p.ErrorText(w, r, http.StatusTooManyRequests, "Too many checkouts",
				"You started many checkouts in a few minutes. Wait "+humanWait(limit.RetryAfter)+", then buy again; nothing was charged for the ones you left.")
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		// Without its key a resent form would make a second purchase:
		// Checkout would draw a new id.
		key := r.PostForm.Get("key")
		if key == "" {
			badBuyForm(w, r, p)
			return
		}
		_, sess, err := b.Checkout(ctx, billing.CheckoutRequest{
			Buyer:      billing.Buyer{UserID: user.ID, Email: user.Email, Name: user.Name},
			PackageID:  r.PathValue("id"),
			SuccessURL: base + successPath + "?session_id={CHECKOUT_SESSION_ID}",
			CancelURL:  base + cancelPath,
			PurchaseID: key,
		})
		switch {
		case errors.Is(err, billing.ErrNoPackage):
			p.Error(w, r, http.StatusNotFound)
		case errors.Is(err, billing.ErrNotForSale):
			p.ErrorText(w, r, http.StatusConflict, "Not for sale", "This credit package is no longer sold. Choose another on the buy page.")
		case errors.Is(err, billing.ErrPurchaseKeyUsed):
			p.ErrorText(w, r, http.StatusConflict, "This form was already used", "Reload the buy page and choose your package again.")
		case errors.Is(err, billing.ErrCheckoutClosed):
			p.ErrorText(w, r, http.StatusConflict, "This checkout is closed",
				"The checkout this form started was paid or has expired. See your payments at "+purchasesPath+", then reload the buy page to buy again.")
		case errors.Is(err, billing.ErrBadPurchaseKey):
			badBuyForm(w, r, p)
		case errors.Is(err, billing.ErrStripeUnavailable):
			s.Logger.ErrorContext(ctx, "start a checkout", "user", user.ID, "err", err)
			p.ErrorText(w, r, http.StatusBadGateway, "The payment page could not be opened",
				"Stripe, which takes the payment, did not answer. Nothing was charged: try again in a moment.")
		case err != nil:
			p.Fail(w, r, err)
		default:
			http.Redirect(w, r, sess.URL, http.StatusSeeOther)
		}
	})
}

// badBuyForm answers a buy form whose one-time key is missing or is not
// one the buy page makes.
func badBuyForm(w http.ResponseWriter, r *http.Request, p *response.Pages) {
	p.ErrorText(w, r, http.StatusBadRequest, "This form could not be read",
		"Its one-time key is damaged or missing. Reload the buy page and choose your package again.")
}

// successPage is what templates/billing/success.html shows.
type successPage struct {
	Purchase billing.Purchase
	Price    string
	Outcome  billing.Outcome
	Balance  int64
	// Unconfirmed is true when Stripe could not be asked: the webhook
	// will settle the purchase.
	Unconfirmed bool
}

// success is where Stripe sends the buyer after paying. While the
// purchase is pending it fulfils the session as the webhook does (whichever comes first grants; the other
// finds it granted), and shows the new balance, or says honestly that a
// delayed payment is still on its way. A session that is not one of the
// signed-in user's purchases is a 404, and nothing is asked or granted.
func (s *server) success(b *billing.Billing, p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ctx := currentUser(r), r.Context()
		purchase, err := b.PurchaseOfSession(ctx, user.ID, r.URL.Query().Get("session_id"))
		if !purchaseFound(w, r, p, err) {
			return
		}
		data := successPage{}
		// A settled purchase is shown as it is: asking Stripe on every
		// view would spend its rate limit for nothing.
		if purchase.Status == billing.StatusPending {
			data.Outcome, err = b.Fulfill(ctx, purchase.CheckoutSessionID)
			if err != nil {
				s.Logger.WarnContext(ctx, "success page: the checkout could not be confirmed now; the webhook will", "purchase", purchase.ID, "err", err)
				data.Unconfirmed = true
			}
		}
		if data.Purchase, err = b.Purchase(ctx, purchase.ID); err == nil {
			data.Balance, err = s.Credits.Ledger.Balance(ctx, user.ID)
		}
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		data.Price = billing.FormatAmount(data.Purchase.Amount, data.Purchase.Currency)
		p.Page(w, r, http.StatusOK, "billing/success", views.Page{Title: "Your purchase", Data: data})
	})
}

// purchaseFound reports whether a lookup of the user's purchase found it;
// if not, it has answered: 404 for none of theirs (someone else's looks
// the same), the error page for a failure.
func purchaseFound(w http.ResponseWriter, r *http.Request, p *response.Pages, err error) bool {
	switch {
	case errors.Is(err, billing.ErrNoSuchPurchase):
		p.Error(w, r, http.StatusNotFound)
		return false
	case err != nil:
		p.Fail(w, r, err)
		return false
	}
	return true
}

func handleCheckoutCancelled(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Page(w, r, http.StatusOK, "billing/cancel", views.Page{Title: "Checkout cancelled"})
	})
}

// purchaseRow is one purchase on the history page and its receipt.
type purchaseRow struct {
	billing.Purchase
	Price string
}

func rowOf(p billing.Purchase) purchaseRow {
	return purchaseRow{Purchase: p, Price: billing.FormatAmount(p.Amount, p.Currency)}
}

// purchasesPage is what templates/billing/purchases.html shows.
type purchasesPage struct {
	Purchases []purchaseRow
	// Portal is true once the user has a Stripe customer to open.
	Portal bool
}

// purchases is the buyer's payment history: each purchase, its status and
// amount, a receipt, and for a failed or expired one the way to try again.
func (s *server) purchases(b *billing.Billing, p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := b.PurchasesOf(r.Context(), currentUser(r).ID)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		data := purchasesPage{Portal: len(list) > 0}
		for _, pu := range list {
			data.Purchases = append(data.Purchases, rowOf(pu))
		}
		p.Page(w, r, http.StatusOK, "billing/purchases", views.Page{Title: "Payments", Data: data})
	})
}

// receipt is one purchase of the signed-in user; anyone else's is a 404.
func (s *server) receipt(b *billing.Billing, p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pu, err := b.PurchaseOf(r.Context(), currentUser(r).ID, r.PathValue("id"))
		if !purchaseFound(w, r, p, err) {
			return
		}
		p.Page(w, r, http.StatusOK, "billing/receipt", views.Page{Title: "Receipt", Data: rowOf(pu)})
	})
}

// portal sends the buyer to Stripe's customer portal (receipts, payment
// methods), which comes back to the history page.
func (s *server) portal(b *billing.Billing, p *response.Pages) http.Handler {
	back := strings.TrimSuffix(s.Config.BaseURL.String(), "/") + purchasesPath
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ctx := currentUser(r), r.Context()
		url, err := b.Portal(ctx, user.ID, back)
		switch {
		case errors.Is(err, billing.ErrNoCustomer):
			p.Flash(w, views.Flash{Kind: "info", Message: "The billing portal opens after your first purchase."})
			http.Redirect(w, r, purchasesPath, http.StatusSeeOther)
		case err != nil:
			s.Logger.ErrorContext(ctx, "open the customer portal", slog.String("user", user.ID), slog.Any("err", err))
			p.ErrorText(w, r, http.StatusBadGateway, "The billing portal could not be opened",
				"Stripe did not answer. Try again in a moment.")
		default:
			http.Redirect(w, r, url, http.StatusSeeOther)
		}
	})
}
