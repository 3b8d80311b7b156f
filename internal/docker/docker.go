// Package docker is quickscale's view of the Docker Engine: the Engine
// interface the commands receive and the values it takes and returns. Its
// implementation is in the engine package below, apart, so that a program can
// use these types without linking the compose library (see cmd/quickscale).
package docker

import (
	"context"
	"io"
	"time"
)

// ProjectLabel is the label every resource quickscale creates carries, next
// to compose's own com.docker.compose.* labels, holding the project name (the
// marker's name), so that destroy can find them all.
const ProjectLabel = "dev.quickscale.project"

// BaseTag tags the image an app image is built on: the Dockerfile up to the
// binary's layer (see appbuild). It is kept by prune, removed by destroy.
const BaseTag = "base"

// ComposeFile is the stack definition's name at the project root.
const ComposeFile = "compose.yaml"

// AppService is the service running the generated app; MigrateService runs
// its migrations once before it starts.
const (
	AppService     = "app"
	MigrateService = "migrate"
)

// MinAPIVersion is the oldest Engine API quickscale drives: Engine 20.10.
const MinAPIVersion = "1.41"

// Engine is what the commands need from Docker. Connect returns the real
// one; command tests use a fake.
type Engine interface {
	// Info describes the engine, dialled when the Engine was made.
	Info() Info
	// ImageExists reports whether ref (name:tag or ID) is present locally.
	ImageExists(ctx context.Context, ref string) (bool, error)
	// BuildImage builds an image from an in-memory build context; the tags
	// are applied by the engine only when the build succeeds.
	BuildImage(ctx context.Context, req ImageBuild) error
	// ImageSize is the size of a local image in bytes.
	ImageSize(ctx context.Context, ref string) (int64, error)
	// SaveImage writes a local image as an image archive (docker save).
	SaveImage(ctx context.Context, ref string, w io.Writer) error
	// LoadImage reads an image archive (docker load) and applies the tags
	// its manifest names; the engine's words go to output.
	LoadImage(ctx context.Context, archive io.Reader, output io.Writer) error
	// PruneImages removes the project's app images except the newest keep
	// ones, the base image (tag BaseTag) and any image a container still
	// uses; it returns what it removed.
	PruneImages(ctx context.Context, project string, keep int) ([]string, error)

	// Up creates and starts the stack and waits until it is ready.
	Up(ctx context.Context, s Stack, opts UpOptions) error
	// Down stops and removes the stack's containers and networks, and its
	// volumes with opts.Volumes.
	Down(ctx context.Context, s Stack, opts DownOptions) error
	// Services lists the stack's containers, one-off runs excluded.
	Services(ctx context.Context, s Stack) ([]Service, error)
	// Logs writes the services' log lines to sink until they end, or until
	// ctx is done when following.
	Logs(ctx context.Context, s Stack, opts LogOptions, sink LogSink) error
	// Exec runs cmd in the service's running container and returns its exit
	// code.
	Exec(ctx context.Context, s Stack, cmd Command) (int, error)
	// Run runs cmd in a one-off container of the service, with the
	// service's image, environment, networks and volumes but no published
	// ports, and returns its exit code.
	Run(ctx context.Context, s Stack, cmd Command) (int, error)
	// Destroy removes every container, network, volume and image labelled
	// with the project's name.
	Destroy(ctx context.Context, project string) (Removed, error)

	Close() error
}

// Info describes the engine quickscale talks to.
type Info struct {
	ServerVersion string // e.g. 20.10.24
	APIVersion    string // the engine's API version, e.g. 1.41
	OS            string
	Arch          string // GOARCH spelling: amd64, arm64
	Host          string // the endpoint, e.g. unix:///var/run/docker.sock
	Context       string // the Docker context in use
	// Local is true when the engine runs on this machine, so a port it
	// publishes is a port of this host.
	Local bool
}

// Stack names a project's compose stack.
type Stack struct {
	Name string // compose project name: the marker's name
	Dir  string // project root, holding compose.yaml and .env
	// Env overrides variables used to interpolate compose.yaml, above the
	// process environment and .env (e.g. APP_IMAGE, APP_PORT).
	Env map[string]string
}

// ImageBuild is one image build.
type ImageBuild struct {
	Context io.Reader // a tar stream with the Dockerfile at its root
	Tags    []string
	Labels  map[string]string
	NoCache bool
	// Output receives the builder's text output, line by line.
	Output io.Writer
}

// UpOptions tunes Up.
type UpOptions struct {
	// Timeout bounds the wait for the stack to become ready.
	Timeout time.Duration
	// Ready maps a service to a readiness probe that may declare it ready
	// before the engine's next scheduled health check does.
	Ready map[string]func(ctx context.Context) bool
	// Progress receives one line per step (creating, started, healthy...).
	Progress func(line string)
}

// DownOptions tunes Down.
type DownOptions struct {
	Volumes bool // also delete the named volumes, i.e. the data
}

// LogOptions selects log lines.
type LogOptions struct {
	Services   []string
	Follow     bool
	Since      string
	Until      string
	Tail       string // number of lines from the end, or "all"
	Timestamps bool
}

// LogSink receives log lines; source is the container's short name, e.g.
// app-1.
type LogSink interface {
	Line(source, line string)
}

// Command is a command run in a service's container.
type Command struct {
	Service string
	Args    []string // the full command line, binary first
	Env     []string
	// Interactive attaches stdin; TTY allocates a terminal.
	Interactive bool
	TTY         bool
}

// Service is one container of the stack.
type Service struct {
	Service   string `json:"service"`
	Container string `json:"container"`
	Image     string `json:"image"`
	State     string `json:"state"`  // running, exited, restarting, created...
	Health    string `json:"health"` // healthy, unhealthy, starting, or empty
	ExitCode  int    `json:"exit_code"`
	Status    string `json:"status"` // the engine's words, e.g. "Up 3 minutes (healthy)"
	Ports     []Port `json:"ports"`
}

// Port is a published port.
type Port struct {
	HostIP        string `json:"host_ip"`
	HostPort      int    `json:"host_port"`
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol"`
}

// Removed lists what Destroy deleted.
type Removed struct {
	Containers []string
	Networks   []string
	Volumes    []string
	Images     []string
}

// Streams are where containers attached by Exec and Run read and write.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}
