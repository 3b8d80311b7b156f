// Package middleware holds what every request passes through before a
// route sees it: request ids, security headers, the access log, panic
// recovery, compression, cross-origin protection and the body size limit.
package middleware

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
)

// MaxBodyBytes bounds every request body; handlers that accept forms set
// tighter limits of their own.
const MaxBodyBytes = 1 << 20

// Options configure the chain.
type Options struct {
	Logger *slog.Logger
	// Clock times requests for the access log.
	Clock clock.Clock
	// BaseURL is the public origin; it is trusted for cross-origin checks
	// when a proxy rewrites the Host header.
	BaseURL *url.URL
	// TrustProxyHeaders honours X-Forwarded-Proto (for HSTS) and an
	// incoming X-Request-Id from the proxy in front.
	TrustProxyHeaders bool
	// ErrorPage answers a refused cross-origin request (403) and a panic
	// (500) with the styled error page.
	ErrorPage func(w http.ResponseWriter, r *http.Request, status int)
	// SignedRoutes are route patterns exempt from cross-origin protection
	// because each request proves its sender with a signature over its
	// body, which the handler checks before anything else (a payment
	// provider's webhook); a browser's cookies give such a route nothing.
	SignedRoutes []string
	// SecretRoutes are route patterns that carry a secret in their path
	// (a share link's token): the logs show such a request's path as its
	// pattern, never the secret.
	SecretRoutes []string
}

// Wrap wraps h in the chain every request passes through, outermost
// first: a request id for the logs, security headers (so that even error
// pages carry them), the access log, panic recovery, compression,
// cross-origin protection and the body size limit.
func Wrap(h http.Handler, o Options) (http.Handler, error) {
	cop := http.NewCrossOriginProtection()
	if origin := o.BaseURL; origin != nil {
		if err := cop.AddTrustedOrigin(origin.Scheme + "://" + origin.Host); err != nil {
			return nil, fmt.Errorf("trust BASE_URL for cross-origin checks: %w", err)
		}
	}
	for _, pattern := range o.SignedRoutes {
		cop.AddInsecureBypassPattern(pattern)
	}
	logPath := redactor(o.SecretRoutes)
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.Logger.WarnContext(r.Context(), "cross-origin request refused",
			"method", r.Method, "path", logPath(r),
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		o.ErrorPage(w, r, http.StatusForbidden)
	}))

	h = limitBody(MaxBodyBytes, h)
	h = cop.Handler(h)
	h = compress(h)
	h = recoverPanics(o.Logger, logPath, o.ErrorPage, h)
	h = logRequests(o.Logger, logPath, o.Clock, h)
	h = securityHeaders(o.TrustProxyHeaders, h)
	h = requestID(o.TrustProxyHeaders, h)
	return h, nil
}

// contentSecurityPolicy allows nothing from other origins and no inline
// script or style: every script and stylesheet is a file under /static/.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const permissionsPolicy = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"

// validRequestID is what an incoming X-Request-Id must look like to be
// reused: anything else could forge or split log lines.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// requestID gives every request an id, returned in X-Request-Id and added
// to every log line logged with the request's context. A proxy's id is
// kept when the proxy is trusted.
func requestID(trustProxy bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !trustProxy || !validRequestID.MatchString(id) {
			id = rand.Text()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), id)))
	})
}

// securityHeaders sets the browser policies on every response, error pages
// and static files included, before anything else can write.
func securityHeaders(trustProxy bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", permissionsPolicy)
		// HSTS only means something over HTTPS; sent over plain HTTP it
		// would be ignored, and on localhost it would be a nuisance.
		if isHTTPS(r, trustProxy) {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// isHTTPS reports whether the client reached us over TLS, directly or
// through a trusted proxy.
func isHTTPS(r *http.Request, trustProxy bool) bool {
	return r.TLS != nil || (trustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

// logRequests writes one line per request. Health probes log at debug
// level: a container runtime polls them every few seconds.
func logRequests(logger *slog.Logger, logPath func(*http.Request) string, clk clock.Clock, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := clk.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if r.URL.Path == "/livez" || r.URL.Path == "/readyz" {
			level = slog.LevelDebug
		}
		logger.Log(r.Context(), level, "request",
			"method", r.Method,
			"path", logPath(r),
			"status", rec.status(),
			"bytes", rec.bytes,
			"duration", clk.Now().Sub(start),
			"remote_addr", r.RemoteAddr,
		)
	})
}

// redactor returns the path to log for a request: the pattern of the
// secret route it falls under, else the path itself. A route matches by
// the literal part of its pattern before the first wildcard, on the
// cleaned path, so that a trailing slash, an extra segment or a path the
// mux would redirect ("//s/x") does not slip the secret through.
func redactor(secretRoutes []string) func(*http.Request) string {
	type secret struct{ prefix, pattern string }
	var secrets []secret
	for _, p := range secretRoutes {
		if _, rest, ok := strings.Cut(p, " "); ok {
			p = rest
		}
		prefix, _, _ := strings.Cut(p, "{")
		secrets = append(secrets, secret{prefix, p})
	}
	return func(r *http.Request) string {
		clean := path.Clean("/" + r.URL.Path)
		for _, s := range secrets {
			if strings.HasPrefix(clean, s.prefix) || strings.HasPrefix(clean+"/", s.prefix) {
				return s.pattern
			}
		}
		return r.URL.Path
	}
}

// recoverPanics turns a panic into a logged error and the styled 500 page:
// the stack trace goes to the log, never to the client, and the server
// carries on serving.
func recoverPanics(logger *slog.Logger, logPath func(*http.Request) string, errorPage func(http.ResponseWriter, *http.Request, int), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logger.ErrorContext(r.Context(), "panic serving request",
				"method", r.Method, "path", logPath(r),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec.code != 0 {
				// Part of the response is out: the only honest end is
				// to cut the connection.
				panic(http.ErrAbortHandler)
			}
			errorPage(w, r, http.StatusInternalServerError)
		}()
		next.ServeHTTP(rec, r)
	})
}

// limitBody caps every request body; reading past the limit fails and the
// handler answers 413.
func limitBody(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status code and body size of a response.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 && code >= 200 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// compress gzips text responses for clients that accept it. Responses that
// already carry a Content-Encoding (the precompressed static files),
// formats that are compressed already (images, fonts) and bodies known to
// fit in one packet (most API answers) pass through.
func compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if r.Method == http.MethodHead || !AcceptsGzip(r) {
			next.ServeHTTP(w, r)
			return
		}
		cw := &compressWriter{ResponseWriter: w}
		defer cw.close()
		next.ServeHTTP(cw, r)
	})
}

type compressWriter struct {
	http.ResponseWriter
	gz      *gzip.Writer
	decided bool
}

func (c *compressWriter) WriteHeader(code int) {
	if code < 200 || c.decided {
		c.ResponseWriter.WriteHeader(code)
		return
	}
	c.decided = true
	h := c.Header()
	if compressibleResponse(code, h) {
		h.Del("Content-Length")
		h.Set("Content-Encoding", "gzip")
		c.gz = gzipWriters.Get().(*gzip.Writer)
		c.gz.Reset(c.ResponseWriter)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *compressWriter) Write(b []byte) (int, error) {
	if !c.decided {
		if c.Header().Get("Content-Type") == "" {
			c.Header().Set("Content-Type", http.DetectContentType(b))
		}
		c.WriteHeader(http.StatusOK)
	}
	if c.gz != nil {
		return c.gz.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

// Flush sends what is compressed so far, for streamed responses.
func (c *compressWriter) Flush() {
	if c.gz != nil {
		_ = c.gz.Flush() // a failed write surfaces on the next Write
	}
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

func (c *compressWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *compressWriter) close() {
	if c.gz == nil {
		return
	}
	_ = c.gz.Close() // the client went away; nothing to tell it
	gzipWriters.Put(c.gz)
	c.gz = nil
}

// Precompress gzips a body served many times, once, at the best
// compression: nil when that does not make it smaller.
func Precompress(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() >= len(body) {
		return nil, nil
	}
	return buf.Bytes(), nil
}

// MinCompressed is the smallest body worth gzipping: about one Ethernet
// packet's payload.
const MinCompressed = 1400

func compressibleResponse(code int, h http.Header) bool {
	if code == http.StatusNoContent || code == http.StatusNotModified || code == http.StatusPartialContent {
		return false
	}
	// Compressing a body this small saves no packet and costs a deflate
	// set-up on every response.
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n < MinCompressed {
		return false
	}
	if h.Get("Content-Encoding") != "" || h.Get("Content-Range") != "" {
		return false
	}
	ct := h.Get("Content-Type")
	return strings.HasPrefix(ct, "text/") ||
		strings.HasPrefix(ct, "application/json") ||
		strings.HasPrefix(ct, "application/javascript") ||
		strings.HasPrefix(ct, "image/svg+xml")
}

// AcceptsGzip reports whether the client takes a gzipped body: this
// middleware asks it, and so does the static file server choosing a
// precompressed file.
func AcceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
