package web

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
)

// Credits are the parts the credit pages and the JSON API use.
type Credits struct {
	Ledger   *credits.Ledger
	Services *services.Registry
	Keys     *apikeys.Store
}

// The JSON API: programs call it with an API key as a bearer token. Every
// error is {"error": {"code": "...", "message": "..."}} with a code that
// never changes meaning, so clients branch on it rather than on the text.

//go:embed openapi.json
var openAPIDocument []byte

type apiKeyKey struct{}

// apiUser returns the user id the request's API key belongs to.
func apiUser(r *http.Request) string {
	k, _ := r.Context().Value(apiKeyKey{}).(apikeys.Key)
	return k.UserID
}

// requireAPIKey lets through requests carrying an active key as
// "Authorization: Bearer <key>", and answers 401 to all others.
func requireAPIKey(keys *apikeys.Store, logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
			apiError(w, http.StatusUnauthorized, "missing_api_key", "send an API key as \"Authorization: Bearer <key>\"; create one in your settings")
			return
		}
		key, err := keys.Authenticate(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, apikeys.ErrInvalid) {
			logger.WarnContext(r.Context(), "API key refused", "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="api", error="invalid_token"`)
			apiError(w, http.StatusUnauthorized, "invalid_api_key", apikeys.ErrInvalid.Error())
			return
		}
		if err != nil {
			apiFail(w, r, logger, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiKeyKey{}, key)))
	})
}

type apiErrorBody struct {
	Error apiErrorDetail `json:"error"`
}

type apiErrorDetail struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Balance  *int64 `json:"balance,omitempty"`
	Required *int64 `json:"required,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"the answer could not be encoded"}}`)
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func apiError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, apiErrorBody{Error: apiErrorDetail{Code: code, Message: message}})
}

// apiFail logs an unexpected error and answers 500 without its detail.
func apiFail(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	logger.ErrorContext(r.Context(), "API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	apiError(w, http.StatusInternalServerError, "internal", "the request failed on our side; it has been logged, try again in a moment")
}

func handleAPINotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "not_found", "no such API endpoint: see /api/v1/openapi.json")
	})
}

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(openAPIDocument)
	})
}

type apiBalance struct {
	Balance int64 `json:"balance"`
}

func handleAPIBalance(logger *slog.Logger, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		balance, err := c.Ledger.Balance(r.Context(), apiUser(r))
		if err != nil {
			apiFail(w, r, logger, err)
			return
		}
		writeJSON(w, http.StatusOK, apiBalance{balance})
	})
}

type apiService struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Cost        int64  `json:"cost"`
	Free        bool   `json:"free"`
	Enabled     bool   `json:"enabled"`
}

func handleAPIServices(c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := []apiService{}
		for _, s := range c.Services.List() {
			list = append(list, apiService{s.Name, s.Description, s.Cost, s.Free(), s.Enabled})
		}
		writeJSON(w, http.StatusOK, map[string]any{"services": list})
	})
}

type apiRun struct {
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

func toAPIRun(run services.Run) apiRun {
	out := apiRun{ID: run.ID, Service: run.Service, Status: string(run.Status), Cost: run.Cost, JournalID: run.JournalID,
		Input: run.Input, Output: run.Output, Error: run.Error, CreatedAt: run.CreatedAt, Replayed: run.Replayed, Balance: run.Balance}
	if !run.FinishedAt.IsZero() {
		out.FinishedAt = &run.FinishedAt
	}
	if out.Output == nil {
		out.Output = map[string]any{}
	}
	return out
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 200

func validIdempotencyKey(key string) bool {
	if len(key) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

type runRequest struct {
	Input map[string]string `json:"input"`
}

// runOutcome maps what Registry.Run returned to a status and body; the
// browser handlers use it too.
func runOutcome(run services.Run, err error) (int, any) {
	var insufficient *credits.InsufficientError
	var input *services.InputError
	switch {
	case errors.As(err, &insufficient):
		return http.StatusPaymentRequired, apiErrorBody{Error: apiErrorDetail{
			Code:     "insufficient_credits",
			Message:  fmt.Sprintf("this run needs %d credit%s and the balance is %d: buy or ask for more credits", insufficient.Required, plural(insufficient.Required), insufficient.Balance),
			Balance:  &insufficient.Balance,
			Required: &insufficient.Required,
		}}
	case errors.Is(err, services.ErrUnknown):
		return http.StatusNotFound, apiErrorBody{Error: apiErrorDetail{Code: "unknown_service", Message: "no service by that name: GET /api/v1/services lists them"}}
	case errors.Is(err, services.ErrDisabled):
		return http.StatusConflict, apiErrorBody{Error: apiErrorDetail{Code: "service_disabled", Message: services.ErrDisabled.Error()}}
	case errors.Is(err, services.ErrKeyReused):
		return http.StatusConflict, apiErrorBody{Error: apiErrorDetail{Code: "idempotency_key_reused", Message: services.ErrKeyReused.Error()}}
	case errors.As(err, &input):
		return http.StatusUnprocessableEntity, apiErrorBody{Error: apiErrorDetail{Code: "invalid_input", Message: input.Problem}}
	case err != nil:
		return 0, nil
	case run.Status == services.StatusFailed:
		return http.StatusBadGateway, map[string]any{
			"error": apiErrorDetail{Code: "service_failed", Message: "the service failed and its credits were refunded: " + run.Error},
			"run":   toAPIRun(run),
		}
	case run.Replayed:
		return http.StatusOK, toAPIRun(run)
	}
	return http.StatusCreated, toAPIRun(run)
}

func handleAPIRun(logger *slog.Logger, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if !validIdempotencyKey(key) {
			apiError(w, http.StatusBadRequest, "invalid_idempotency_key",
				fmt.Sprintf("the Idempotency-Key header must be at most %d printable ASCII characters without spaces, e.g. a UUID", maxIdempotencyKey))
			return
		}
		var req runRequest
		if r.ContentLength != 0 {
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				apiError(w, http.StatusBadRequest, "invalid_json", `the body must be a JSON object like {"input": {"text": "..."}}`)
				return
			}
		}
		run, err := c.Services.Run(r.Context(), apiUser(r), r.PathValue("name"), key, req.Input)
		status, body := runOutcome(run, err)
		if status == 0 {
			apiFail(w, r, logger, err)
			return
		}
		if run.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeJSON(w, status, body)
	})
}

func handleAPIRunGet(logger *slog.Logger, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, err := c.Services.RunByID(r.Context(), apiUser(r), r.PathValue("id"))
		if errors.Is(err, services.ErrNotFound) {
			apiError(w, http.StatusNotFound, "not_found", "no run with that id")
			return
		}
		if err != nil {
			apiFail(w, r, logger, err)
			return
		}
		if run.Balance, err = c.Ledger.Balance(r.Context(), run.UserID); err != nil {
			apiFail(w, r, logger, err)
			return
		}
		writeJSON(w, http.StatusOK, toAPIRun(run))
	})
}

type apiEntry struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	Amount       int64     `json:"amount"`
	BalanceAfter int64     `json:"balance_after"`
	Service      string    `json:"service,omitempty"`
	Reference    string    `json:"reference,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

func toAPIEntry(e credits.Entry) apiEntry {
	return apiEntry{e.ID, string(e.Kind), e.Amount, e.BalanceAfter, e.Service, e.Reference, e.Reason, e.CreatedAt}
}

// parseJournalFilter reads the journal filters shared by the API, the
// history page and its CSV export. Dates are YYYY-MM-DD (whole days, the
// end day included) or RFC 3339 instants.
func parseJournalFilter(r *http.Request, userID string) (credits.Filter, error) {
	q := r.URL.Query()
	f := credits.Filter{UserID: userID, Kind: credits.Kind(q.Get("kind")), Service: q.Get("service"), Sort: q.Get("sort")}
	var err error
	if f.From, err = parseDate(q.Get("from"), false); err != nil {
		return f, fmt.Errorf("from: %w", err)
	}
	if f.To, err = parseDate(q.Get("to"), true); err != nil {
		return f, fmt.Errorf("to: %w", err)
	}
	for name, dst := range map[string]*int{"page": &f.Page, "per_page": &f.PerPage} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return f, fmt.Errorf("%s must be a whole number from 1", name)
			}
			*dst = n
		}
	}
	return f, f.Validate()
}

func parseDate(v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date: use YYYY-MM-DD or an RFC 3339 time", v)
	}
	return t, nil
}

func handleAPIJournal(logger *slog.Logger, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := parseJournalFilter(r, apiUser(r))
		if err != nil {
			apiError(w, http.StatusBadRequest, "invalid_filter", err.Error())
			return
		}
		page, err := c.Ledger.Journal(r.Context(), f)
		if err != nil {
			apiFail(w, r, logger, err)
			return
		}
		entries := make([]apiEntry, 0, len(page.Entries))
		for _, e := range page.Entries {
			entries = append(entries, toAPIEntry(e))
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"entries": entries, "total": page.Total, "page": page.Page, "per_page": page.PerPage, "pages": page.Pages(),
		})
	})
}
