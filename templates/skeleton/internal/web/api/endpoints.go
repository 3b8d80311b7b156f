package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/runs"
)

// BalanceBody is the answer of GET /api/v1/balance.
type BalanceBody struct {
	Balance int64 `json:"balance"`
}

// Balance answers the caller's credit balance.
func (a *API) Balance() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		balance, err := a.ledger.Balance(r.Context(), caller(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		response.JSON(w, http.StatusOK, BalanceBody{balance})
	})
}

// ServiceBody is one service in the answer of GET /api/v1/services.
type ServiceBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Cost        int64  `json:"cost"`
	Free        bool   `json:"free"`
	Enabled     bool   `json:"enabled"`
}

// Services lists the services a run can be asked of.
func (a *API) Services() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := []ServiceBody{}
		for _, s := range a.services.List() {
			list = append(list, ServiceBody{s.Name, s.Description, s.Cost, s.Free(), s.Enabled})
		}
		response.JSON(w, http.StatusOK, map[string]any{"services": list})
	})
}

// RunBody is a run, as the run endpoints answer it.
type RunBody struct {
	ID         string            `json:"id"`
	Service    string            `json:"service"`
	Status     string            `json:"status"`
	Cost       int64             `json:"cost"`
	JournalID  string            `json:"journal_id,omitempty"`
	Input      map[string]string `json:"input"`
	Output     map[string]any    `json:"output"`
	Error      string            `json:"error,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	Replayed   bool              `json:"replayed"`
	Balance    int64             `json:"balance"`
}

func toRunBody(run services.Run) RunBody {
	out := RunBody{ID: run.ID, Service: run.Service, Status: string(run.Status), Cost: run.Cost, JournalID: run.JournalID,
		Input: run.Input, Output: run.Output, Error: run.Error, CreatedAt: run.CreatedAt, Replayed: run.Replayed, Balance: run.Balance}
	if !run.FinishedAt.IsZero() {
		out.FinishedAt = &run.FinishedAt
	}
	if out.Output == nil {
		out.Output = map[string]any{}
	}
	return out
}

type runRequest struct {
	Input map[string]string `json:"input"`
}

// runAnswer is the body for what Registry.Run returned, whose code and
// status runs.Classify has given.
func runAnswer(code runs.Code, run services.Run, err error) any {
	detail := errorDetail{Code: string(code)}
	var insufficient *credits.InsufficientError
	var input *services.InputError
	switch code {
	case runs.OK:
		return toRunBody(run)
	case runs.ServiceFailed:
		detail.Message = "the service failed and its credits were refunded: " + run.Error
		return map[string]any{"error": detail, "run": toRunBody(run)}
	case runs.InsufficientCredits:
		errors.As(err, &insufficient)
		detail.Message = fmt.Sprintf("this run needs %d credit%s and the balance is %d: buy or ask for more credits",
			insufficient.Required, runs.Plural(insufficient.Required), insufficient.Balance)
		detail.Balance, detail.Required = &insufficient.Balance, &insufficient.Required
	case runs.UnknownService:
		detail.Message = "no service by that name: GET /api/v1/services lists them"
	case runs.ServiceDisabled:
		detail.Message = services.ErrDisabled.Error()
	case runs.KeyReused:
		detail.Message = services.ErrKeyReused.Error()
	case runs.InvalidInput:
		errors.As(err, &input)
		detail.Message = input.Problem
	}
	return errorBody{Error: detail}
}

// Run runs a service for the caller, once per Idempotency-Key.
func (a *API) Run() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if !runs.ValidKey(key) {
			writeError(w, http.StatusBadRequest, "invalid_idempotency_key",
				fmt.Sprintf("the Idempotency-Key header must be at most %d printable ASCII characters without spaces, e.g. a UUID", runs.MaxKeyLength))
			return
		}
		var req runRequest
		if r.ContentLength != 0 && !decode(w, r, &req, `{"input": {"text": "..."}}`) {
			return
		}
		run, err := a.services.Run(r.Context(), caller(r), r.PathValue("name"), key, req.Input)
		code, status := runs.Classify(run, err)
		if code == runs.Internal {
			a.fail(w, r, err)
			return
		}
		if run.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		response.JSON(w, status, runAnswer(code, run, err))
	})
}

// RunByID answers one of the caller's runs.
func (a *API) RunByID() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, err := a.services.RunByID(r.Context(), caller(r), r.PathValue("id"))
		if errors.Is(err, services.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "no run with that id")
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if run.Balance, err = a.ledger.Balance(r.Context(), run.UserID); err != nil {
			a.fail(w, r, err)
			return
		}
		response.JSON(w, http.StatusOK, toRunBody(run))
	})
}

// EntryBody is one journal entry in the answer of GET /api/v1/journal.
type EntryBody struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	Amount       int64     `json:"amount"`
	BalanceAfter int64     `json:"balance_after"`
	Service      string    `json:"service,omitempty"`
	Reference    string    `json:"reference,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Journal answers a page of the caller's credit journal.
func (a *API) Journal() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := JournalFilter(r.URL.Query(), caller(r))
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_filter", err.Error())
			return
		}
		page, err := a.ledger.Journal(r.Context(), f)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		entries := make([]EntryBody, 0, len(page.Entries))
		for _, e := range page.Entries {
			entries = append(entries, EntryBody{e.ID, string(e.Kind), e.Amount, e.BalanceAfter, e.Service, e.Reference, e.Reason, e.CreatedAt})
		}
		response.JSON(w, http.StatusOK, map[string]any{
			"entries": entries, "total": page.Total, "page": page.Page, "per_page": page.PerPage, "pages": page.Pages(),
		})
	})
}
