package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/flags"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/docker/compose/v5/pkg/compose"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
	"github.com/sirupsen/logrus"

	"github.com/quickscale/quickscale/internal/docker"
)

// connectTimeout bounds the first contact: an engine that does not answer a
// ping in this time is as good as absent for an interactive command.
const connectTimeout = 10 * time.Second

// Connect dials the engine chosen the way the docker CLI chooses it
// (DOCKER_HOST, DOCKER_CONTEXT, the current context in ~/.docker), agrees on
// an API version and refuses engines older than docker.MinAPIVersion.
func Connect(streams docker.Streams) (*Compose, error) {
	in, ok := streams.In.(io.ReadCloser)
	if !ok {
		in = io.NopCloser(streams.In)
	}
	cli, err := command.NewDockerCli(
		command.WithInputStream(in),
		command.WithOutputStream(streams.Out),
		command.WithErrorStream(streams.ErrOut),
	)
	if err != nil {
		return nil, fmt.Errorf("set up Docker client: %w", err)
	}
	opts := flags.NewClientOptions()
	// The API client is made here, not left to the docker CLI: when the
	// endpoint cannot be resolved (an unknown DOCKER_CONTEXT), the CLI's own
	// lazy set-up prints the error and exits the process.
	apiClient, err := command.NewAPIClientFromFlags(opts, config.LoadDefaultConfigFile(streams.ErrOut))
	if err != nil {
		return nil, fmt.Errorf("choose the Docker Engine: %w; fix DOCKER_HOST or DOCKER_CONTEXT (`docker context ls` lists the contexts)", err)
	}
	if err := cli.Initialize(opts, command.WithAPIClient(apiClient)); err != nil {
		_ = apiClient.Close()
		return nil, fmt.Errorf("set up the Docker client (check DOCKER_HOST, DOCKER_CONTEXT and ~/.docker/config.json): %w", err)
	}
	// compose reports recoverable trouble through logrus; keep it on the
	// command's stderr and quiet below warnings.
	logrus.SetOutput(streams.ErrOut)
	logrus.SetLevel(logrus.WarnLevel)

	host := apiClient.DaemonHost()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	info, err := probe(ctx, apiClient, host)
	if err != nil {
		_ = apiClient.Close()
		return nil, err
	}
	info.Context = cli.CurrentContext()

	svc, err := composeService(cli, nil)
	if err != nil {
		_ = apiClient.Close()
		return nil, fmt.Errorf("set up compose: %w", err)
	}
	return &Compose{cli: cli, api: apiClient, svc: svc, info: info}, nil
}

// probe pings the engine, checks its API version and reads its version.
func probe(ctx context.Context, c client.APIClient, host string) (docker.Info, error) {
	ping, err := c.Ping(ctx, client.PingOptions{})
	if err != nil {
		return docker.Info{}, &docker.UnreachableError{Host: host, Err: unwrapDial(err)}
	}
	if ping.APIVersion != "" && versions.LessThan(ping.APIVersion, docker.MinAPIVersion) {
		return docker.Info{}, &docker.TooOldError{APIVersion: ping.APIVersion}
	}
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return docker.Info{}, fmt.Errorf("agree on an API version with the Docker docker.Engine at %s: %w", host, err)
	}
	v, err := c.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return docker.Info{}, fmt.Errorf("read the Docker docker.Engine version at %s: %w", host, err)
	}
	if versions.LessThan(v.APIVersion, docker.MinAPIVersion) {
		return docker.Info{}, &docker.TooOldError{APIVersion: v.APIVersion, ServerVersion: v.Version}
	}
	return docker.Info{
		ServerVersion: v.Version,
		APIVersion:    v.APIVersion,
		OS:            v.Os,
		Arch:          v.Arch,
		Host:          host,
		Local:         strings.HasPrefix(host, "unix://") || strings.HasPrefix(host, "npipe://"),
	}, nil
}

// composeService makes a compose service on cli; bus, when not nil,
// receives its progress events.
func composeService(cli command.Cli, bus api.EventProcessor) (api.Compose, error) {
	opts := []compose.Option{
		// compose asks before recreating a volume whose configuration
		// changed; recreating would delete the user's data, so never.
		compose.WithPrompt(func(string, bool) (bool, error) { return false, nil }),
	}
	if bus != nil {
		opts = append(opts, compose.WithEventProcessor(bus))
	}
	return compose.NewComposeService(cli, opts...)
}

// unwrapDial trims the client's "Cannot connect to the Docker daemon at
// ... Is the docker daemon running?", which docker.UnreachableError says
// better, down to the cause.
func unwrapDial(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	if strings.HasPrefix(err.Error(), "Cannot connect to the Docker daemon") {
		return errors.New("nothing answers there")
	}
	return err
}

// Compose is the docker.Engine over the Engine API and the compose library.
type Compose struct {
	cli  command.Cli
	api  client.APIClient
	svc  api.Compose
	info docker.Info
}

var _ docker.Engine = (*Compose)(nil)

// Info implements docker.Engine.
func (c *Compose) Info() docker.Info { return c.info }

// Close implements docker.Engine.
func (c *Compose) Close() error { return c.api.Close() }
