package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// A value carrying CR/LF must not forge a second log line, in either format.
func TestOneLinePerRecord(t *testing.T) {
	const forged = "/a\r\nlevel=ERROR msg=forged\n{\"msg\":\"forged\"}"
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		logger := New(&buf, format, slog.LevelInfo)
		logger.InfoContext(WithRequestID(context.Background(), "req-1"), "request", "path", forged)
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 1 {
			t.Fatalf("%s: one record became %d lines:\n%s", format, len(lines), buf.String())
		}
		if !strings.Contains(lines[0], "req-1") {
			t.Errorf("%s: request id missing: %s", format, lines[0])
		}
		if format == "json" {
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec["path"] != forged || rec["request_id"] != "req-1" {
				t.Errorf("json line = %v, %v", rec, err)
			}
		}
	}
}

func TestRequestIDOnlyWithContext(t *testing.T) {
	var buf bytes.Buffer
	logger := New(&buf, "json", slog.LevelDebug).With("component", "test")
	logger.Info("no context")
	logger.WithGroup("g").InfoContext(WithRequestID(context.Background(), "abc"), "with context", "k", "v")
	out := buf.String()
	first, second, _ := strings.Cut(out, "\n")
	if strings.Contains(first, "request_id") {
		t.Errorf("a record without a request context got a request id: %s", first)
	}
	if !strings.Contains(second, `"request_id":"abc"`) || !strings.Contains(second, `"component":"test"`) {
		t.Errorf("request id or attributes lost through With/WithGroup: %s", second)
	}
	if RequestID(context.Background()) != "" {
		t.Error("RequestID of a bare context is not empty")
	}
}
