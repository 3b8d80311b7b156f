package health

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadyz(t *testing.T) {
	dbUp := true
	c := New(slog.New(slog.DiscardHandler),
		Check{Name: "database", Run: func(context.Context) error {
			if !dbUp {
				return errors.New("connection refused: password=hunter2")
			}
			return nil
		}},
		Check{Name: "always", Run: func(context.Context) error { return nil }},
	)
	readyz := func() (int, string) {
		rec := httptest.NewRecorder()
		c.HandleReadyz().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code, rec.Body.String()
	}

	code, body := readyz()
	require.Equal(t, http.StatusOK, code, "ready: %s", body)
	require.Contains(t, body, `"status":"ok"`, "ready")
	dbUp = false
	code, body = readyz()
	require.Equal(t, http.StatusServiceUnavailable, code, "database down: %s", body)
	require.Contains(t, body, `"failing":["database"]`, "database down names the check")
	require.NotContains(t, body, "hunter2", "readyz shows the check's error to the caller")
	require.NotContains(t, body, "refused", "readyz shows the check's error to the caller")
	dbUp = true
	c.Drain()
	code, body = readyz()
	require.Equal(t, http.StatusServiceUnavailable, code, "draining: %s", body)
	require.Contains(t, body, "shutdown", "draining")

	rec := httptest.NewRecorder()
	HandleLivez().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
	require.Equal(t, http.StatusOK, rec.Code, "livez while draining")
}
