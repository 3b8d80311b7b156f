// Command tiny stands in for a generated app in internal/docker's tests: it
// has the same subcommands, health endpoints and /data volume, and can be
// told to fail in the ways the tests need.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func dataDir() string {
	url := os.Getenv("DATABASE_URL")
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok {
		return filepath.Dir(p)
	}
	return "/data"
}

func run(args []string) int {
	if len(args) == 0 {
		args = []string{"help"}
	}
	switch args[0] {
	case "serve":
		return serve()
	case "migrate":
		return migrate(args[1:])
	case "healthcheck":
		resp, err := http.Get("http://127.0.0.1:8000/readyz")
		if err != nil || resp.StatusCode != http.StatusOK {
			return 1
		}
		return 0
	case "echo":
		fmt.Println(strings.Join(args[1:], " "))
		return 0
	case "read":
		// Reads one line from stdin, for the attached-stdin test.
		line, _ := io.ReadAll(os.Stdin)
		fmt.Printf("read %q\n", strings.TrimSpace(string(line)))
		return 0
	case "help":
		fmt.Println("commands: serve, migrate up|status, healthcheck, echo, read, help")
		return 0
	default:
		fmt.Fprintf(os.Stderr, "tiny: unknown command %q\n", args[0])
		return 2
	}
}

func migrate(args []string) int {
	schema := filepath.Join(dataDir(), "schema")
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "tiny: migrate needs up or status")
		return 2
	}
	switch args[0] {
	case "up":
		if os.Getenv("TINY_FAIL_MIGRATE") != "" {
			fmt.Fprintln(os.Stderr, "migration 0002 failed: syntax error")
			return 1
		}
		if err := os.WriteFile(schema, []byte("1\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("migrated to version 1")
		return 0
	case "status":
		b, err := os.ReadFile(schema)
		if err != nil {
			fmt.Println("schema at version 0")
			return 0
		}
		fmt.Printf("schema at version %s\n", strings.TrimSpace(string(b)))
		return 0
	}
	fmt.Fprintf(os.Stderr, "tiny: unknown migrate command %q\n", args[0])
	return 2
}

func serve() int {
	if os.Getenv("TINY_CRASH") != "" {
		fmt.Fprintln(os.Stderr, "fatal: TINY_CRASH is set, refusing to start")
		return 3
	}
	notes := filepath.Join(dataDir(), "notes")
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(filepath.Join(dataDir(), "schema")); err != nil {
			http.Error(w, "not migrated", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("/notes", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			f, err := os.OpenFile(notes, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer f.Close()
			fmt.Fprintln(f, r.URL.Query().Get("text"))
			return
		}
		b, _ := os.ReadFile(notes)
		w.Write(b)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from tiny")
	})
	srv := &http.Server{Addr: ":8000", Handler: logRequests(mux)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Println("serving on :8000")
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			fmt.Printf("request %s %s\n", r.Method, r.URL.Path)
		}
		h.ServeHTTP(w, r)
	})
}
