package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A value carrying CR/LF must not forge a second log line, in either format.
func TestOneLinePerRecord(t *testing.T) {
	const forged = "/a\r\nlevel=ERROR msg=forged\n{\"msg\":\"forged\"}"
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		logger := New(&buf, format, slog.LevelInfo)
		logger.InfoContext(WithRequestID(context.Background(), "req-1"), "request", "path", forged)
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		require.Len(t, lines, 1, "%s: one record became several lines:\n%s", format, buf.String())
		assert.Contains(t, lines[0], "req-1", "%s: the request id", format)
		if format == "json" {
			var rec map[string]any
			if assert.NoError(t, json.Unmarshal([]byte(lines[0]), &rec), "json line %s", lines[0]) {
				assert.Equal(t, forged, rec["path"], "json path")
				assert.Equal(t, "req-1", rec["request_id"], "json request id")
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
	assert.NotContains(t, first, "request_id", "a record without a request context got a request id")
	assert.Contains(t, second, `"request_id":"abc"`, "request id lost through With/WithGroup")
	assert.Contains(t, second, `"component":"test"`, "attributes lost through With/WithGroup")
	assert.Empty(t, RequestID(context.Background()), "RequestID of a bare context")
}
