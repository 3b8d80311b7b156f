// Package health answers the liveness and readiness probes.
//
// /livez says the process is up. /readyz says it can serve: every check
// passes (the database answers, the schema is at the version this build
// expects) and it is not shutting down.
package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// Check is one readiness condition.
type Check struct {
	Name string
	Run  func(context.Context) error
}

// Checker reports readiness from its checks and the drain flag.
type Checker struct {
	logger   *slog.Logger
	checks   []Check
	draining atomic.Bool
}

// New returns a checker over checks.
func New(logger *slog.Logger, checks ...Check) *Checker {
	return &Checker{logger: logger, checks: checks}
}

// Drain makes readiness fail from now on, so that load balancers stop
// sending new requests while the server finishes the ones it has.
func (c *Checker) Drain() { c.draining.Store(true) }

// Ready returns the names of the failing checks; none means ready.
func (c *Checker) Ready(ctx context.Context) []string {
	if c.draining.Load() {
		return []string{"shutdown"}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var failing []string
	for _, check := range c.checks {
		if err := check.Run(ctx); err != nil {
			c.logger.WarnContext(ctx, "readiness check failed", "check", check.Name, "err", err)
			failing = append(failing, check.Name)
		}
	}
	return failing
}

type status struct {
	Status  string   `json:"status"`
	Failing []string `json:"failing,omitempty"`
}

// HandleLivez answers 200 while the process can answer at all.
func HandleLivez() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, status{Status: "ok"})
	})
}

// HandleReadyz answers 200 when ready and 503 naming the failing checks
// otherwise. The reasons themselves go to the log, not to the caller.
func (c *Checker) HandleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing := c.Ready(r.Context()); len(failing) > 0 {
			write(w, http.StatusServiceUnavailable, status{Status: "unavailable", Failing: failing})
			return
		}
		write(w, http.StatusOK, status{Status: "ok"})
	})
}

func write(w http.ResponseWriter, code int, body status) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body) // the client went away; nothing to do
}
