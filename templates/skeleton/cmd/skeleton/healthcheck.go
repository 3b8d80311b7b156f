package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

func healthcheckCommand() *command {
	return &command{name: "healthcheck", summary: "Exit 0 when the running server on HTTP_ADDR is ready.", flags: noFlags(healthcheck)}
}

// healthcheck asks the server on HTTP_ADDR whether it is ready. It is the
// container's HEALTHCHECK: the image has no shell and no curl, only this
// binary.
func healthcheck(ctx context.Context, inv invocation) error {
	addr := inv.getenv("HTTP_ADDR")
	if addr == "" {
		addr = ":8000"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR is %q: use host:port or :port, e.g. :8000", addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"

	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build the readiness request: %w", err)
	}
	// No proxy: the server is on this machine whatever HTTP_PROXY says.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %s", url, resp.Status)
	}
	return nil
}
