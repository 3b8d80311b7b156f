package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/iostreams"
)

// UpOptions are `quickscale up`'s flags and dependencies.
type UpOptions struct {
	IO      *iostreams.IOStreams
	Project func() (Project, error)
	Docker  func() (docker.Engine, error)

	Port    int
	Timeout time.Duration
	NoCache bool
}

// NewCmdUp builds `quickscale up`.
func NewCmdUp(f *Factory, runF func(context.Context, *UpOptions) error) *cobra.Command {
	opts := &UpOptions{IO: f.IOStreams, Project: f.Project, Docker: f.Docker}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build if needed, migrate, start the app and wait until it is healthy",
		Long: `Start the project's stack with Docker: build the app image when the code
changed (as ` + "`quickscale build`" + ` does), run the database migrations, start the app
(and PostgreSQL for the postgres preset), and wait until the app reports
ready. Then print where to reach it.

The app is published on 127.0.0.1, port APP_PORT from .env (` + strconv.Itoa(appcontract.HTTPPort) + ` unless set);
--port chooses another for this run. Data lives in named volumes and survives
` + "`quickscale down`" + `.

If a service crashes or stays unhealthy, up names it and shows its last log
lines. Ctrl-C stops a half-started stack and keeps the data.`,
		Example: `  $ quickscale up
  $ quickscale up --port 8080
  $ quickscale up --timeout 5m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Port < 0 || opts.Port > 65535 {
				return FlagErrorf("--port %d is not a port number; use 1 to 65535", opts.Port)
			}
			if opts.Timeout <= 0 {
				return FlagErrorf("--timeout must be positive, such as 2m")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return upRun(cmd.Context(), opts)
		},
	}
	cmd.Annotations = map[string]string{annotationDocker: "true"}
	cmd.Flags().IntVar(&opts.Port, "port", 0, "Publish the app on this host port instead of APP_PORT")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "How long to wait for the app to become healthy")
	cmd.Flags().BoolVar(&opts.NoCache, "no-cache", false, "Rebuild the image from scratch first")
	return cmd
}

func upRun(ctx context.Context, opts *UpOptions) error {
	p, err := opts.Project()
	if err != nil {
		return err
	}
	env, port, err := p.upEnv(opts.Port)
	if err != nil {
		return err
	}
	e, err := opts.Docker()
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := buildImage(ctx, opts.IO, p, e, opts.NoCache)
	if err != nil {
		return err
	}
	if res.Built {
		fmt.Fprintln(opts.IO.ErrOut, "built "+res.Image)
	}

	env["APP_IMAGE"] = res.Image
	stack := p.stack(env)
	base := "http://localhost:" + strconv.Itoa(port)
	opts.IO.StartProgressIndicatorWithLabel("starting " + p.Marker.Name)
	err = e.Up(ctx, stack, docker.UpOptions{
		Timeout:  opts.Timeout,
		Progress: opts.IO.StartProgressIndicatorWithLabel,
		Ready:    map[string]func(context.Context) bool{docker.AppService: readyProbe("http://127.0.0.1:" + strconv.Itoa(port) + appcontract.ReadinessPath)},
	})
	opts.IO.StopProgressIndicator()
	if errors.Is(err, context.Canceled) {
		return &CancelError{Message: "Interrupted: the stack is stopped and its data kept; run `quickscale up` again."}
	}
	if err != nil {
		return err
	}

	if app, ok, err := runningApp(ctx, e, stack); err == nil && ok {
		if u, ok := runningAppURL(app); ok {
			base = u
		}
	}
	out := opts.IO.Out
	cs := opts.IO.ColorScheme()
	fmt.Fprintf(out, "%s %s is up in %s\n", cs.SuccessIcon(), p.Marker.Name, time.Since(start).Round(100*time.Millisecond))
	for _, line := range accessLines(base) {
		fmt.Fprintln(out, "  "+line)
	}
	return nil
}

// upEnv is what up sets for compose besides the image: APP_PORT when
// --port chose it, and BASE_URL when the one configured points at this
// machine on another port than the app is published on (the app's links and
// emails would lead nowhere). A BASE_URL naming another host, such as a
// tunnel or proxy in front of the app, is the user's choice and stays.
func (p Project) upEnv(flagPort int) (env map[string]string, port int, err error) {
	port, err = p.appPort(flagPort)
	if err != nil {
		return nil, 0, err
	}
	env = map[string]string{}
	if flagPort != 0 {
		env["APP_PORT"] = strconv.Itoa(flagPort)
	}
	configured, err := p.setting("BASE_URL")
	if err != nil {
		return nil, 0, err
	}
	if base, ok := localBaseURL(configured, port); ok {
		env["BASE_URL"] = base
	}
	return env, port, nil
}

// localBaseURL returns configured with its port set to port, when
// configured is empty or names this machine and differs; ok is false when
// it should stay as it is.
func localBaseURL(configured string, port int) (base string, ok bool) {
	if configured == "" {
		// compose.yaml's own default follows APP_PORT already.
		return "", false
	}
	u, err := url.Parse(configured)
	if err != nil || u.Host == "" {
		return "", false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
	default:
		return "", false
	}
	want := strconv.Itoa(port)
	if u.Port() == want || (u.Port() == "" && defaultPort(u.Scheme) == want) {
		return "", false
	}
	u.Host = net.JoinHostPort(u.Hostname(), want)
	return u.String(), true
}

// defaultPort is the port a URL scheme implies.
func defaultPort(scheme string) string {
	switch scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// accessLines tell the user how to reach the running app and log in.
func accessLines(base string) []string {
	return []string{
		"App:     " + base + "/",
		"Log in:  " + base + "/login (the first administrator: quickscale manage createadmin --email you@example.com)",
		"Health:  " + base + appcontract.ReadinessPath,
		"Logs:    quickscale logs -f",
		"Stop:    quickscale down",
	}
}

// readyProbe asks the app's readiness endpoint through the published port,
// which answers sooner than the engine's next scheduled health check.
func readyProbe(url string) func(context.Context) bool {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	return func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}
