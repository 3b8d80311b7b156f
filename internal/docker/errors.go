package docker

import (
	"fmt"
	"strings"
)

// UnreachableError reports an engine that does not answer.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Docker Engine at %s: %v; start Docker (or point DOCKER_HOST or the Docker context at a running engine) and run `quickscale check`", e.Host, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// TooOldError reports an engine older than MinAPIVersion.
type TooOldError struct {
	ServerVersion string
	APIVersion    string
}

func (e *TooOldError) Error() string {
	v := e.ServerVersion
	if v == "" {
		v = "of unknown version"
	}
	return fmt.Sprintf("Docker Engine %s speaks API %s, older than the %s quickscale needs; upgrade to Docker Engine 20.10 or newer", v, e.APIVersion, MinAPIVersion)
}

// PortBusyError reports a host port the stack needs that something else
// holds.
type PortBusyError struct {
	Port int
	Err  error
}

func (e *PortBusyError) Error() string {
	return fmt.Sprintf("port %d on 127.0.0.1 is already in use; stop whatever holds it, or choose another port with `quickscale up --port <port>` or APP_PORT in .env", e.Port)
}

func (e *PortBusyError) Unwrap() error { return e.Err }

// ServiceFailedError reports a service that crashed, exited with an error
// or turned unhealthy while the stack started.
type ServiceFailedError struct {
	Service string
	Reason  string   // e.g. "exited with code 1"
	Logs    []string // its last log lines
}

func (e *ServiceFailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s %s; see `quickscale logs %s`", e.Service, e.Reason, e.Service)
	if len(e.Logs) > 0 {
		fmt.Fprintf(&b, "\nlast log lines of %s:\n", e.Service)
		for _, l := range e.Logs {
			b.WriteString("  " + l + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// TimeoutError reports a stack that did not become ready in time.
type TimeoutError struct {
	Service string
	State   string
	Logs    []string
	After   string
}

func (e *TimeoutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s is still %s after %s; see `quickscale logs %s`, or wait longer with --timeout", e.Service, e.State, e.After, e.Service)
	if len(e.Logs) > 0 {
		fmt.Fprintf(&b, "\nlast log lines of %s:\n", e.Service)
		for _, l := range e.Logs {
			b.WriteString("  " + l + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// ImageMissingError reports an image the stack needs that is neither local
// nor pullable.
type ImageMissingError struct {
	Service string
	Image   string
	Err     error
}

func (e *ImageMissingError) Error() string {
	hint := "run `quickscale build`"
	switch e.Service {
	case AppService, MigrateService:
	case "db":
		hint = "make it available locally (docker pull or docker load), or set POSTGRES_IMAGE in .env to an image that is"
	default:
		hint = "make it available locally (docker pull or docker load)"
	}
	return fmt.Sprintf("image %s for service %s is not available: %v; %s", e.Image, e.Service, e.Err, hint)
}

func (e *ImageMissingError) Unwrap() error { return e.Err }
