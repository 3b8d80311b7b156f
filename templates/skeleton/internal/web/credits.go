package web

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
)

// The credit pages for signed-in users: balance, services, usage, history
// and API keys.

// usageDays is how far back the usage chart and totals look.
const usageDays = 30

// serviceCard is one service on the credits page, with a fresh idempotency
// key so a double-clicked button runs it once.
type serviceCard struct {
	services.Service
	Key string
}

// creditsPage is what templates/credits/index.html shows.
type creditsPage struct {
	Balance  int64
	Services []serviceCard
	Chart    usageChart
	Totals   []credits.ServiceTotal
	Estimate estimate
	Settings credits.Settings
	// Low is true while the balance is under the user's notice level.
	Low     bool
	Problem string
}

// estimate is the cost estimate tool: how much a number of runs costs and
// how long the balance lasts at the recent pace.
type estimate struct {
	Service   string
	Runs      int64
	Cost      int64
	Covered   bool
	DailyUse  int64 // average over usageDays
	DaysLeft  int64 // at that pace; -1 when nothing is used
	Requested bool
	Problem   string
}

func handleCredits(p *pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := currentUser(r)
		ctx := r.Context()
		balance, err := c.Ledger.Balance(ctx, user.ID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		now := time.Now()
		usage, err := c.Ledger.Usage(ctx, user.ID, usageDays, now)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		totals, err := c.Ledger.ServiceTotals(ctx, user.ID, now.AddDate(0, 0, -usageDays))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		settings, err := c.Ledger.Settings(ctx, user.ID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		data := creditsPage{Balance: balance, Chart: newUsageChart(usage), Totals: totals, Settings: settings,
			Low: settings.LowBalanceThreshold > 0 && balance < settings.LowBalanceThreshold}
		for _, s := range c.Services.List() {
			data.Services = append(data.Services, serviceCard{Service: s, Key: rand.Text()})
		}
		data.Estimate = estimateFor(r.URL.Query(), c.Services, balance, usage)
		p.page(w, r, http.StatusOK, "credits/index", views.Page{Title: "Credits", Data: data})
	})
}

func estimateFor(q url.Values, registry *services.Registry, balance int64, usage []credits.DayUsage) estimate {
	var used int64
	for _, d := range usage {
		used += d.Consumed
	}
	e := estimate{DailyUse: used / int64(max(1, len(usage))), DaysLeft: -1}
	if e.DailyUse > 0 {
		e.DaysLeft = balance / e.DailyUse
	}
	if q.Get("service") == "" {
		return e
	}
	e.Requested, e.Service = true, q.Get("service")
	s, ok := registry.Get(e.Service)
	runs, err := strconv.ParseInt(q.Get("runs"), 10, 64)
	switch {
	case !ok:
		e.Problem = "Choose one of the services."
	case err != nil || runs < 1 || runs > 1_000_000:
		e.Problem = "Enter a number of runs from 1 to 1,000,000."
	default:
		e.Runs, e.Cost = runs, runs*s.Cost
		e.Covered = e.Cost <= balance
	}
	return e
}

// runResult is what templates/partials/credits_run_result.html shows.
type runResult struct {
	Service      string
	Run          services.Run
	Insufficient *credits.InsufficientError
	Problem      string
	Balance      int64
	NextKey      string
}

// handleCreditsRun runs a service from the credits page. For htmx it
// answers with the result and the new balance swapped in place; without
// JavaScript it returns to the page with a notice.
func handleCreditsRun(p *pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseAccountForm(w, r, p) {
			return
		}
		user := currentUser(r)
		name := r.PathValue("name")
		params := map[string]string{}
		if text := r.PostForm.Get("text"); text != "" {
			params["text"] = text
		}
		key := r.PostForm.Get("key")
		if !validIdempotencyKey(key) {
			key = ""
		}
		run, err := c.Services.Run(r.Context(), user.ID, name, key, params)
		res := runResult{Service: name, Run: run, Balance: run.Balance, NextKey: rand.Text()}
		var insufficient *credits.InsufficientError
		var input *services.InputError
		switch {
		case errors.As(err, &insufficient):
			res.Insufficient, res.Balance = insufficient, insufficient.Balance
		case errors.As(err, &input):
			res.Problem = input.Problem
		case errors.Is(err, services.ErrUnknown):
			p.error(w, r, http.StatusNotFound)
			return
		case errors.Is(err, services.ErrDisabled):
			res.Problem = "This service is switched off for now."
		case errors.Is(err, services.ErrKeyReused):
			res.Problem = "This form was already sent with other values: reload the page and try again."
		case err != nil:
			p.fail(w, r, err)
			return
		}
		if err != nil {
			if res.Balance, err = c.Ledger.Balance(r.Context(), user.ID); err != nil {
				p.fail(w, r, err)
				return
			}
		}
		if isHTMX(r) {
			// htmx swaps only 2xx answers, so every outcome, the friendly
			// insufficient-credits one included, is a 200 fragment.
			p.partial(w, r, http.StatusOK, "credits_run_result", res)
			return
		}
		if res.Insufficient != nil {
			p.errorText(w, r, http.StatusPaymentRequired, "Not enough credits",
				fmt.Sprintf("This run needs %d credit%s and you have %d. Ask an administrator for more credits, then try again.", res.Insufficient.Required, plural(res.Insufficient.Required), res.Insufficient.Balance))
			return
		}
		fl := views.Flash{Kind: "success", Message: fmt.Sprintf("%s ran; your balance is %d credit%s.", name, res.Balance, plural(res.Balance))}
		if res.Problem != "" {
			fl = views.Flash{Kind: "warning", Message: res.Problem}
		} else if run.Status == services.StatusFailed {
			fl = views.Flash{Kind: "warning", Message: "The service failed and its credits were refunded: " + run.Error}
		}
		p.flash.set(w, r, fl)
		http.Redirect(w, r, "/credits", http.StatusSeeOther)
	})
}

// historyPage is what templates/credits/history.html shows.
type historyPage struct {
	Filter   credits.Filter
	Query    url.Values
	Entries  []credits.Entry
	Total    int
	Pages    int
	Prev     string
	Next     string
	CSV      string
	Kinds    []credits.Kind
	Services []services.Service
	Sorts    []string
	Problem  string
	From, To string
}

func handleCreditsHistory(p *pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := currentUser(r)
		q := r.URL.Query()
		data := historyPage{Query: q, Kinds: credits.Kinds, Services: c.Services.List(), Sorts: credits.Sorts,
			From: q.Get("from"), To: q.Get("to")}
		f, err := parseJournalFilter(r, user.ID)
		if err != nil {
			data.Problem = err.Error()
			f = credits.Filter{UserID: user.ID}
		}
		page, err := c.Ledger.Journal(r.Context(), f)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		data.Filter, data.Entries, data.Total, data.Pages = f, page.Entries, page.Total, page.Pages()
		link := func(n int) string {
			v := url.Values{}
			for k, vals := range q {
				v[k] = vals
			}
			v.Set("page", strconv.Itoa(n))
			return "/credits/history?" + v.Encode()
		}
		if page.Page > 1 {
			data.Prev = link(page.Page - 1)
		}
		if page.Page < page.Pages() {
			data.Next = link(page.Page + 1)
		}
		csvQuery := url.Values{}
		for k, vals := range q {
			if k != "page" && k != "per_page" {
				csvQuery[k] = vals
			}
		}
		data.CSV = "/credits/history.csv?" + csvQuery.Encode()
		p.page(w, r, http.StatusOK, "credits/history", views.Page{Title: "Credit history", Data: data})
	})
}

// csvCell keeps a spreadsheet from reading a text cell as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsAny(s[:1], "=+-@\t\r") {
		return "'" + s
	}
	return s
}

func handleCreditsCSV(p *pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := currentUser(r)
		f, err := parseJournalFilter(r, user.ID)
		if err != nil {
			p.errorText(w, r, http.StatusBadRequest, "That filter did not make sense", err.Error())
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="credit-history.csv"`)
		w.Header().Set("Cache-Control", "private, no-store")
		cw := csv.NewWriter(w)
		cw.Write([]string{"id", "time", "kind", "amount", "balance_after", "service", "reference", "reason"})
		err = c.Ledger.Each(r.Context(), f, func(e credits.Entry) error {
			return cw.Write([]string{e.ID, e.CreatedAt.UTC().Format(time.RFC3339), string(e.Kind),
				strconv.FormatInt(e.Amount, 10), strconv.FormatInt(e.BalanceAfter, 10),
				csvCell(e.Service), csvCell(e.Reference), csvCell(e.Reason)})
		})
		cw.Flush()
		if err != nil {
			// The header is sent: the truncated file is all that can be
			// done; the log says why.
			p.logger.ErrorContext(r.Context(), "export credit history", "err", err)
		}
	})
}

// keysPage is what templates/credits/keys.html shows.
type keysPage struct {
	Keys    []apikeys.Key
	Created *apikeys.Key
	Token   string
	Problem string
}

func (c *Credits) renderKeys(w http.ResponseWriter, r *http.Request, p *pages, status int, data keysPage) {
	keys, err := c.Keys.List(r.Context(), currentUser(r).ID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	data.Keys = keys
	// The page that shows a new key's secret must never be cached.
	w.Header().Set("Cache-Control", "no-store")
	p.page(w, r, status, "credits/keys", views.Page{Title: "API keys", Data: data})
}

func handleAPIKeys(p *pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.renderKeys(w, r, p, http.StatusOK, keysPage{})
	})
}

func handleAPIKeyCreate(p *pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseAccountForm(w, r, p) {
			return
		}
		key, token, err := c.Keys.Create(r.Context(), currentUser(r).ID, r.PostForm.Get("name"))
		if err != nil {
			if errors.Is(err, apikeys.ErrTooMany) || strings.HasPrefix(err.Error(), "give the key a name") {
				c.renderKeys(w, r, p, http.StatusUnprocessableEntity, keysPage{Problem: err.Error()})
				return
			}
			p.fail(w, r, err)
			return
		}
		// Shown in this answer only: the secret is not stored anywhere it
		// could be shown again.
		c.renderKeys(w, r, p, http.StatusCreated, keysPage{Created: &key, Token: token})
	})
}

func handleAPIKeyRevoke(p *pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseAccountForm(w, r, p) {
			return
		}
		err := c.Keys.Revoke(r.Context(), currentUser(r).ID, r.PathValue("id"))
		if errors.Is(err, apikeys.ErrNotFound) {
			p.error(w, r, http.StatusNotFound)
			return
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.flash.set(w, r, views.Flash{Kind: "success", Message: "The key is revoked: programs using it are refused from now on."})
		http.Redirect(w, r, "/settings/api-keys", http.StatusSeeOther)
	})
}

// handleCreditNotices saves the low-balance level and the weekly summary
// choice. Only those two fields are read from the form.
func handleCreditNotices(p *pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseAccountForm(w, r, p) {
			return
		}
		raw := strings.TrimSpace(r.PostForm.Get("threshold"))
		threshold, err := strconv.ParseInt(raw, 10, 64)
		if raw == "" {
			threshold, err = 0, nil
		}
		if err != nil || threshold < 0 || threshold > credits.MaxAmount {
			p.flash.set(w, r, views.Flash{Kind: "danger", Message: "Enter the notice level as a whole number of credits, 0 to turn the notice off."})
			http.Redirect(w, r, "/credits#notices", http.StatusSeeOther)
			return
		}
		s := credits.Settings{LowBalanceThreshold: threshold, WeeklySummary: r.PostForm.Get("weekly") == "on"}
		if err := c.Ledger.SaveSettings(r.Context(), currentUser(r).ID, s); err != nil {
			p.fail(w, r, err)
			return
		}
		p.flash.set(w, r, views.Flash{Kind: "success", Message: "Your credit notices are saved."})
		http.Redirect(w, r, "/credits#notices", http.StatusSeeOther)
	})
}

// creditsCard is the dashboard's credit panel: the balance, swapped in
// place after a run, and a form for each service.
type creditsCard struct {
	Balance  int64
	Services []serviceCard
}

func (c *Credits) card(ctx context.Context, userID string) (creditsCard, error) {
	balance, err := c.Ledger.Balance(ctx, userID)
	if err != nil {
		return creditsCard{}, err
	}
	card := creditsCard{Balance: balance}
	for _, s := range c.Services.List() {
		card.Services = append(card.Services, serviceCard{Service: s, Key: rand.Text()})
	}
	return card, nil
}

// plural is the "s" a count of credits takes unless it is one.
func plural(n int64) string {
	if n == 1 || n == -1 {
		return ""
	}
	return "s"
}
