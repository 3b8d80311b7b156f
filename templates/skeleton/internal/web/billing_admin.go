package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// The payment pages for administrators: the list of purchases, searched
// by the buyer's address and filtered by status; one purchase in detail;
// and its refund, through Stripe. Served only when payments are on.

// billingAdmin is h made with billing, or nil (not served) when payments
// are off.
func (s *server) billingAdmin(h func(*billing.Billing) http.Handler) http.Handler {
	if s.Billing == nil {
		return nil
	}
	return h(s.Billing)
}

// adminPayments is what templates/admin/payments.html shows.
type adminPayments struct {
	// Off: payments are off, and the page says how to turn them on.
	Off bool
	// TestMode: Stripe's test keys are in use; no real money moves.
	TestMode bool
	List     billing.PaymentList
	Search   string
	Status   string
	Statuses []billing.Status
	Prev     string
	Next     string
}

const paymentsPerPage = 25

// handleAdminPayments lists the payments, or, with payments off, says
// what to configure.
func handleAdminPayments(p *response.Pages, b *billing.Billing, testMode bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b == nil {
			p.Page(w, r, http.StatusOK, "admin/payments", views.Page{Title: "Payments", Data: adminPayments{Off: true}})
			return
		}
		q := r.URL.Query()
		page, ok := requestedPage(w, r, p)
		if !ok {
			return
		}
		status := billing.Status(q.Get("status"))
		if status != "" && !knownStatus(status) {
			p.ErrorText(w, r, http.StatusBadRequest, "No such status",
				fmt.Sprintf("%q is not a payment status: use one of %s, or none for all.", status, statusNames()))
			return
		}
		list, err := b.Payments(r.Context(), billing.PaymentQuery{Search: q.Get("q"), Status: status, Page: page, PerPage: paymentsPerPage})
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		data := adminPayments{TestMode: testMode, List: list, Search: q.Get("q"), Status: string(status), Statuses: billing.Statuses}
		data.Prev, data.Next = pageLinks("/admin/payments", map[string]string{"q": data.Search, "status": data.Status}, list.Page, list.Pages())
		p.Page(w, r, http.StatusOK, "admin/payments", views.Page{Title: "Payments", Data: data})
	})
}

func knownStatus(s billing.Status) bool {
	for _, known := range billing.Statuses {
		if s == known {
			return true
		}
	}
	return false
}

func statusNames() string {
	names := make([]string, len(billing.Statuses))
	for i, s := range billing.Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// adminPayment is what templates/admin/payment.html shows.
type adminPayment struct {
	Payment billing.Payment
	Balance int64
	Debt    int64
	// The refund form: what was entered, and why it was refused.
	Amount  string
	Reason  string
	Problem string
}

func (c *Credits) renderAdminPayment(w http.ResponseWriter, r *http.Request, p *response.Pages, b *billing.Billing, status int, data adminPayment) {
	ctx := r.Context()
	pay, err := b.Payment(ctx, r.PathValue("id"))
	if errors.Is(err, billing.ErrNoSuchPurchase) {
		p.Error(w, r, http.StatusNotFound)
		return
	}
	if err == nil {
		data.Payment = pay
		if data.Balance, err = c.Ledger.Balance(ctx, pay.UserID); err == nil {
			data.Debt, err = c.Ledger.Debt(ctx, pay.UserID)
		}
	}
	if err != nil {
		p.Fail(w, r, err)
		return
	}
	p.Page(w, r, status, "admin/payment", views.Page{Title: "Payment " + pay.ID, Data: data})
}

func handleAdminPayment(p *response.Pages, c *Credits) func(*billing.Billing) http.Handler {
	return func(b *billing.Billing) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.renderAdminPayment(w, r, p, b, http.StatusOK, adminPayment{})
		})
	}
}

// handleAdminRefund refunds (part of) a purchase through Stripe, after a
// fresh password entry, as other changes that move money or access do.
// Billing writes the request to the audit log, granted or refused by
// Stripe, and takes the credits back once Stripe has refunded.
func handleAdminRefund(p *response.Pages, a *auth, c *Credits) func(*billing.Billing) http.Handler {
	return func(b *billing.Billing) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			back := "/admin/payments/" + url.PathEscape(r.PathValue("id"))
			if !parseForm(w, r, p, form.MaxBytes) || !a.requireFresh(w, r, back) {
				return
			}
			pay, err := b.Payment(r.Context(), r.PathValue("id"))
			if errors.Is(err, billing.ErrNoSuchPurchase) {
				p.Error(w, r, http.StatusNotFound)
				return
			} else if err != nil {
				p.Fail(w, r, err)
				return
			}
			data := adminPayment{Amount: strings.TrimSpace(r.PostForm.Get("amount")), Reason: strings.TrimSpace(r.PostForm.Get("reason"))}
			req := billing.RefundRequest{PurchaseID: pay.ID, ActorID: currentUser(r).ID, Reason: data.Reason}
			if req.RefundedBefore, err = strconv.ParseInt(r.PostForm.Get("refunded_before"), 10, 64); err != nil {
				data.Problem = "The form is incomplete: reload the page and refund from there."
			}
			if data.Problem == "" && data.Amount != "" {
				if req.Amount, err = billing.ParseAmount(data.Amount, pay.Currency); err != nil {
					data.Problem = "Amount: " + err.Error() + "; leave it empty to refund all that is left."
				}
			}
			if data.Problem == "" {
				ref, err := b.RefundPurchase(r.Context(), req)
				var refused *billing.RefundRefused
				switch {
				case errors.As(err, &refused):
					data.Problem = upperFirst(refused.Reason) + "."
				case err != nil:
					data.Problem = "Stripe did not refund: " + err.Error()
					c.renderAdminPayment(w, r, p, b, http.StatusBadGateway, data)
					return
				default:
					p.Flash(w, views.Flash{Kind: "success", Message: fmt.Sprintf("Refunded %s (Stripe refund %s).", billing.FormatAmount(ref.Amount, pay.Currency), ref.ID)})
					http.Redirect(w, r, back, http.StatusSeeOther)
					return
				}
			}
			c.renderAdminPayment(w, r, p, b, http.StatusUnprocessableEntity, data)
		})
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
