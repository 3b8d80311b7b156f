package health

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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

	if code, body := readyz(); code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("ready = %d %s", code, body)
	}
	dbUp = false
	code, body := readyz()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"failing":["database"]`) {
		t.Fatalf("database down = %d %s, want 503 naming database", code, body)
	}
	if strings.Contains(body, "hunter2") || strings.Contains(body, "refused") {
		t.Fatalf("readyz shows the check's error to the caller: %s", body)
	}
	dbUp = true
	c.Drain()
	if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutdown") {
		t.Fatalf("draining = %d %s, want 503", code, body)
	}

	rec := httptest.NewRecorder()
	HandleLivez().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("livez while draining = %d, want 200", rec.Code)
	}
}
