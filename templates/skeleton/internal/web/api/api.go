// Package api is the JSON API: programs call it with an API key as a
// bearer token. Every error is {"error": {"code": "...", "message": "..."}}
// with a code that never changes meaning, so clients branch on it rather
// than on the text; the codes of a service run are those of package runs.
package api

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

//go:embed openapi.json
var openAPIDocument []byte

// API holds what the endpoints read and run.
type API struct {
	logger   *slog.Logger
	ledger   *credits.Ledger
	services *services.Registry
	keys     *apikeys.Store
	files    *files.Service
}

// New returns the API over the ledger, the services that spend credits,
// the API keys and the users' files.
func New(logger *slog.Logger, ledger *credits.Ledger, registry *services.Registry, keys *apikeys.Store, fs *files.Service) *API {
	return &API{logger: logger, ledger: ledger, services: registry, keys: keys, files: fs}
}

// errorBody is the shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Balance  *int64 `json:"balance,omitempty"`
	Required *int64 `json:"required,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	response.JSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

// fail logs an unexpected error and answers 500 without its detail.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.logger.ErrorContext(r.Context(), "API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "the request failed on our side; it has been logged, try again in a moment")
}

type keyContext struct{}

// caller returns the id of the user whose API key the request carries.
func caller(r *http.Request) string {
	k, _ := r.Context().Value(keyContext{}).(apikeys.Key)
	return k.UserID
}

// RequireKey lets through requests carrying an active key as
// "Authorization: Bearer <key>", and answers 401 to all others.
func (a *API) RequireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
			writeError(w, http.StatusUnauthorized, "missing_api_key", "send an API key as \"Authorization: Bearer <key>\"; create one in your settings")
			return
		}
		key, err := a.keys.Authenticate(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, apikeys.ErrInvalid) {
			a.logger.WarnContext(r.Context(), "API key refused", "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="api", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid_api_key", apikeys.ErrInvalid.Error())
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyContext{}, key)))
	})
}

// NotFound answers unknown API paths in JSON, as the API does.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API endpoint: see /api/v1/openapi.json")
	})
}

// OpenAPI serves the API's description.
func OpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(openAPIDocument) // the client went away; nothing to tell it
	})
}
