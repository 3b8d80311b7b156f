package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/runs"
)

// The credit pages for administrators: the ledger overview, and one user's
// balance, history and manual adjustments.

// adminCreditsPage is what templates/credits/admin.html shows.
type adminCreditsPage struct {
	Totals    credits.Totals
	Top       []credits.Consumer
	Services  []credits.ServiceTotal
	Problems  []credits.Problem
	Checked   bool
	SinceDays int
}

func handleAdminCredits(p *response.Pages, c *Credits, clk clock.Clock) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		since := clk.Now().AddDate(0, 0, -usageDays)
		data := adminCreditsPage{SinceDays: usageDays}
		var err error
		if data.Totals, err = c.Ledger.Totals(ctx); err == nil {
			if data.Top, err = c.Ledger.TopConsumers(ctx, since, 10); err == nil {
				data.Services, err = c.Ledger.ServiceTotals(ctx, "", since)
			}
		}
		if err == nil && r.URL.Query().Get("check") == "1" {
			data.Checked = true
			data.Problems, err = c.Ledger.Verify(ctx)
		}
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		p.Page(w, r, http.StatusOK, "credits/admin", views.Page{Title: "Credits", Data: data})
	})
}

// adminUserCreditsPage is what templates/credits/admin_user.html shows.
type adminUserCreditsPage struct {
	User    accounts.User
	Balance int64
	Debt    int64
	Entries []credits.Entry
	Total   int
	Amount  string
	Reason  string
	Problem string
}

func (c *Credits) renderAdminUser(w http.ResponseWriter, r *http.Request, p *response.Pages, a *auth, status int, data adminUserCreditsPage) {
	u, ok := a.userFromPath(w, r, p)
	if !ok {
		return
	}
	data.User = u
	var err error
	if data.Balance, err = c.Ledger.Balance(r.Context(), u.ID); err != nil {
		p.Fail(w, r, err)
		return
	}
	if data.Debt, err = c.Ledger.Debt(r.Context(), u.ID); err != nil {
		p.Fail(w, r, err)
		return
	}
	page, err := c.Ledger.Journal(r.Context(), credits.Filter{UserID: u.ID, PerPage: 100})
	if err != nil {
		p.Fail(w, r, err)
		return
	}
	data.Entries, data.Total = page.Entries, page.Total
	p.Page(w, r, status, "credits/admin_user", views.Page{Title: "Credits of " + u.Email, Data: data})
}

func handleAdminUserCredits(p *response.Pages, a *auth, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.renderAdminUser(w, r, p, a, http.StatusOK, adminUserCreditsPage{})
	})
}

// handleAdminAdjustCredits adds or deducts credits with a reason; the
// ledger writes the journal row and the audit row in one transaction and
// refuses a deduction below zero.
func handleAdminAdjustCredits(p *response.Pages, a *auth, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		target := r.PathValue("id")
		if _, err := a.Users.ByID(r.Context(), target); errors.Is(err, accounts.ErrNotFound) {
			p.Error(w, r, http.StatusNotFound)
			return
		} else if err != nil {
			p.Fail(w, r, err)
			return
		}
		data := adminUserCreditsPage{Amount: r.PostForm.Get("amount"), Reason: strings.TrimSpace(r.PostForm.Get("reason"))}
		// Read as written, one optional sign and digits: a lenient reading
		// once took "+-5" for a deduction of 5.
		amount, err := strconv.ParseInt(data.Amount, 10, 64)
		if err != nil || amount == 0 || amount > credits.MaxAmount || amount < -credits.MaxAmount {
			data.Problem = fmt.Sprintf("Amount: enter a whole number of credits other than 0 and at most %d either way, with no spaces: 5 or +5 adds, -5 deducts.", credits.MaxAmount)
			c.renderAdminUser(w, r, p, a, http.StatusUnprocessableEntity, data)
			return
		}
		res, err := c.Ledger.Adjust(r.Context(), credits.Adjustment{UserID: target, ActorID: currentUser(r).ID, Amount: amount, Reason: data.Reason})
		var insufficient *credits.InsufficientError
		switch {
		case errors.As(err, &insufficient):
			data.Problem = fmt.Sprintf("The balance is %d: deducting %d would make it negative.", insufficient.Balance, insufficient.Required)
		case err != nil && data.Reason == "":
			data.Problem = "Give a reason: it is kept in the journal and the audit log."
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		if data.Problem != "" {
			c.renderAdminUser(w, r, p, a, http.StatusUnprocessableEntity, data)
			return
		}
		p.Flash(w, views.Flash{Kind: "success", Message: fmt.Sprintf("Adjusted by %+d credit%s; the balance is now %d.", amount, runs.Plural(amount), res.Balance)})
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(target)+"/credits", http.StatusSeeOther)
	})
}
