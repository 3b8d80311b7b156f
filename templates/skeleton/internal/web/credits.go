package web

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/api"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/htmx"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/runs"
)

// The credit pages for signed-in users: balance, services, usage and
// history.

// Credits are the parts the credit pages and the JSON API use.
type Credits struct {
	Ledger *credits.Ledger
	// Services are what a run spends credits on.
	Services *services.Registry
	Keys     *apikeys.Store
}

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
	Balance int64
	// Debt is what reversed payments took beyond the balance: the next
	// credits in pay it first.
	Debt     int64
	Services []serviceCard
	Chart    usageChart
	Totals   []credits.ServiceTotal
	Estimate estimate
	Settings credits.Settings
	// Low is true while the balance is under the user's notice level.
	Low     bool
	Problem string
	// CanBuy is true when payments are on: "more credits" links to the
	// buy page rather than to an administrator.
	CanBuy bool
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

func handleCredits(p *response.Pages, c *Credits, clk clock.Clock, canBuy bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := currentUser(r)
		ctx := r.Context()
		balance, err := c.Ledger.Balance(ctx, user.ID)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		now := clk.Now()
		usage, err := c.Ledger.Usage(ctx, user.ID, usageDays, now)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		totals, err := c.Ledger.ServiceTotals(ctx, user.ID, now.AddDate(0, 0, -usageDays))
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		settings, err := c.Ledger.Settings(ctx, user.ID)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		debt, err := c.Ledger.Debt(ctx, user.ID)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		data := creditsPage{Balance: balance, Debt: debt, Chart: newUsageChart(usage), Totals: totals, Settings: settings,
			Low: settings.LowBalanceThreshold > 0 && balance < settings.LowBalanceThreshold, CanBuy: canBuy}
		for _, s := range c.Services.List() {
			data.Services = append(data.Services, serviceCard{Service: s, Key: rand.Text()})
		}
		data.Estimate = estimateFor(r.URL.Query(), c.Services, balance, usage)
		p.Page(w, r, http.StatusOK, "credits/index", views.Page{Title: "Credits", Data: data})
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
	CanBuy       bool
}

// handleCreditsRun runs a service from the credits page. For htmx it
// answers with the result and the new balance swapped in place; without
// JavaScript it returns to the page with a notice.
func handleCreditsRun(p *response.Pages, c *Credits, canBuy bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		user := currentUser(r)
		name := r.PathValue("name")
		params := map[string]string{}
		if text := r.PostForm.Get("text"); text != "" {
			params["text"] = text
		}
		key := r.PostForm.Get("key")
		if !runs.ValidKey(key) {
			key = ""
		}
		run, err := c.Services.Run(r.Context(), user.ID, name, key, params)
		res := runResult{Service: name, Run: run, Balance: run.Balance, NextKey: rand.Text(), CanBuy: canBuy}
		code, status := runs.Classify(run, err)
		var input *services.InputError
		switch code {
		case runs.InsufficientCredits:
			errors.As(err, &res.Insufficient)
			res.Balance = res.Insufficient.Balance
		case runs.InvalidInput:
			errors.As(err, &input)
			res.Problem = input.Problem
		case runs.UnknownService:
			p.Error(w, r, status)
			return
		case runs.ServiceDisabled:
			res.Problem = "This service is switched off for now."
		case runs.KeyReused:
			res.Problem = "This form was already sent with other values: reload the page and try again."
		case runs.Internal:
			p.Fail(w, r, err)
			return
		}
		if err != nil {
			if res.Balance, err = c.Ledger.Balance(r.Context(), user.ID); err != nil {
				p.Fail(w, r, err)
				return
			}
		}
		if htmx.IsRequest(r) {
			// htmx swaps only 2xx answers, so every outcome, the friendly
			// insufficient-credits one included, is a 200 fragment.
			p.Partial(w, r, http.StatusOK, "credits_run_result", res)
			return
		}
		if res.Insufficient != nil {
			more := "Ask an administrator for more credits"
			if canBuy {
				more = "Buy more credits at " + buyPath
			}
			p.ErrorText(w, r, status, "Not enough credits",
				fmt.Sprintf("This run needs %d credit%s and you have %d. %s, then try again.", res.Insufficient.Required, runs.Plural(res.Insufficient.Required), res.Insufficient.Balance, more))
			return
		}
		fl := views.Flash{Kind: "success", Message: fmt.Sprintf("%s ran; your balance is %d credit%s.", name, res.Balance, runs.Plural(res.Balance))}
		if res.Problem != "" {
			fl = views.Flash{Kind: "warning", Message: res.Problem}
		} else if code == runs.ServiceFailed {
			fl = views.Flash{Kind: "warning", Message: "The service failed and its credits were refunded: " + run.Error}
		}
		p.Flash(w, fl)
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

func handleCreditsHistory(p *response.Pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := currentUser(r)
		q := r.URL.Query()
		data := historyPage{Query: q, Kinds: credits.Kinds, Services: c.Services.List(), Sorts: credits.Sorts,
			From: q.Get("from"), To: q.Get("to")}
		f, err := api.JournalFilter(r.URL.Query(), user.ID)
		if err != nil {
			data.Problem = err.Error()
			f = credits.Filter{UserID: user.ID}
		}
		page, err := c.Ledger.Journal(r.Context(), f)
		if err != nil {
			p.Fail(w, r, err)
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
		p.Page(w, r, http.StatusOK, "credits/history", views.Page{Title: "Credit history", Data: data})
	})
}

// csvCell keeps a spreadsheet from reading a text cell as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsAny(s[:1], "=+-@\t\r") {
		return "'" + s
	}
	return s
}

func handleCreditsCSV(logger *slog.Logger, p *response.Pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := currentUser(r)
		f, err := api.JournalFilter(r.URL.Query(), user.ID)
		if err != nil {
			p.ErrorText(w, r, http.StatusBadRequest, "That filter did not make sense", err.Error())
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
			logger.ErrorContext(r.Context(), "export credit history", "err", err)
		}
	})
}

// handleCreditNotices saves the low-balance level and the weekly summary
// choice. Only those two fields are read from the form.
func handleCreditNotices(p *response.Pages, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		raw := strings.TrimSpace(r.PostForm.Get("threshold"))
		threshold, err := strconv.ParseInt(raw, 10, 64)
		if raw == "" {
			threshold, err = 0, nil
		}
		if err != nil || threshold < 0 || threshold > credits.MaxAmount {
			p.Flash(w, views.Flash{Kind: "danger", Message: "Enter the notice level as a whole number of credits, 0 to turn the notice off."})
			http.Redirect(w, r, "/credits#notices", http.StatusSeeOther)
			return
		}
		s := credits.Settings{LowBalanceThreshold: threshold, WeeklySummary: r.PostForm.Get("weekly") == "on"}
		if err := c.Ledger.SaveSettings(r.Context(), currentUser(r).ID, s); err != nil {
			p.Fail(w, r, err)
			return
		}
		p.Flash(w, views.Flash{Kind: "success", Message: "Your credit notices are saved."})
		http.Redirect(w, r, "/credits#notices", http.StatusSeeOther)
	})
}

// creditsCard is the dashboard's credit panel: the balance, swapped in
// place after a run, and a form for each service.
type creditsCard struct {
	Balance  int64
	Services []serviceCard
	CanBuy   bool
}

func (c *Credits) card(ctx context.Context, userID string, canBuy bool) (creditsCard, error) {
	balance, err := c.Ledger.Balance(ctx, userID)
	if err != nil {
		return creditsCard{}, err
	}
	card := creditsCard{Balance: balance, CanBuy: canBuy}
	for _, s := range c.Services.List() {
		card.Services = append(card.Services, serviceCard{Service: s, Key: rand.Text()})
	}
	return card, nil
}
