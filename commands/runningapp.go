package commands

import (
	"context"
	"strconv"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker"
)

// runningApp returns the app container of the stack if it runs.
func runningApp(ctx context.Context, e docker.Engine, s docker.Stack) (docker.Service, bool, error) {
	services, err := e.Services(ctx, s)
	if err != nil {
		return docker.Service{}, false, err
	}
	for _, svc := range services {
		if svc.Service == docker.AppService && svc.State == "running" {
			return svc, true, nil
		}
	}
	return docker.Service{}, false, nil
}

// runningAppURL is the URL of a running app container, from the host port
// its HTTP port is published on.
func runningAppURL(app docker.Service) (string, bool) {
	for _, port := range app.Ports {
		if port.ContainerPort == appcontract.HTTPPort && port.HostPort != 0 {
			return "http://localhost:" + strconv.Itoa(port.HostPort), true
		}
	}
	return "", false
}
