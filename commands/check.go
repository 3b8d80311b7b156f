package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/project"
)

// Free space below minFreeDisk blocks a build; below lowFreeDisk it is
// worth a warning. A build needs the Go build cache, the toolchain and the
// image layers.
const (
	minFreeDisk = 1 << 30
	lowFreeDisk = 5 << 30
)

// CheckOptions are `quickscale check`'s dependencies.
type CheckOptions struct {
	IO         *iostreams.IOStreams
	WorkingDir func() (string, error)
	Project    func() (Project, error)
	Docker     func() (docker.Engine, error)
}

// NewCmdCheck builds `quickscale check`.
func NewCmdCheck(f *Factory, runF func(context.Context, *CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{IO: f.IOStreams, WorkingDir: f.WorkingDir, Project: f.Project, Docker: f.Docker}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that this machine can build and run the project",
		Long: `Check what ` + "`quickscale build`" + ` and ` + "`quickscale up`" + ` need: a reachable Docker Engine
(20.10 or newer), a Go toolchain that can run Go ` + appcontract.GoToolchain + `, and, inside a
project, free host ports for the stack and enough disk space.

Each problem is printed with how to fix it. The exit status is 1 when a
problem would stop ` + "`quickscale up`" + `; warnings alone exit 0.`,
		Example: `  $ quickscale check`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkRun(cmd.Context(), opts)
		},
	}
	cmd.Annotations = map[string]string{annotationDocker: "true"}
	return cmd
}

// finding is one line of the report.
type finding struct {
	level int // findingOK, findingWarn or findingFail
	topic string
	text  string
}

const (
	findingOK = iota
	findingWarn
	findingFail
)

func checkRun(ctx context.Context, opts *CheckOptions) error {
	var found []finding
	add := func(level int, topic, format string, args ...any) {
		found = append(found, finding{level, topic, fmt.Sprintf(format, args...)})
	}

	e, dockerErr := opts.Docker()
	if dockerErr != nil {
		add(findingFail, "Docker", "%v", dockerErr)
	} else {
		i := e.Info()
		add(findingOK, "Docker", "Engine %s (API %s, %s/%s) at %s", i.ServerVersion, i.APIVersion, i.OS, i.Arch, i.Host)
	}

	level, text := checkGo(ctx)
	add(level, "Go", "%s", text)

	p, projErr := opts.Project()
	var notProject *project.NotProjectError
	switch {
	case errors.As(projErr, &notProject):
		add(findingWarn, "Project", "not inside a quickscale project, so its ports were not checked; run check inside one")
	case projErr != nil:
		add(findingFail, "Project", "%v", projErr)
	default:
		add(findingOK, "Project", "%s (%s) at %s", p.Marker.Name, p.Marker.DB, p.Root)
		found = append(found, checkPorts(ctx, p, e)...)
		if dockerErr == nil && p.Marker.DB == "postgres" {
			found = append(found, checkPostgresImage(ctx, p, e)...)
		}
	}

	dir := p.Root
	if dir == "" {
		dir, _ = opts.WorkingDir()
	}
	if free, ok := freeDiskBytes(dir); ok {
		switch {
		case free < minFreeDisk:
			add(findingFail, "Disk", "only %s free at %s; free at least 1 GB (docker system prune removes unused images)", humanBytes(int64(free)), dir)
		case free < lowFreeDisk:
			add(findingWarn, "Disk", "%s free at %s; builds need room for the Go cache and images, consider freeing some", humanBytes(int64(free)), dir)
		default:
			add(findingOK, "Disk", "%s free at %s", humanBytes(int64(free)), dir)
		}
	}

	cs := opts.IO.ColorScheme()
	failures := 0
	for _, f := range found {
		icon := cs.SuccessIcon()
		switch f.level {
		case findingWarn:
			icon = cs.WarningIcon()
		case findingFail:
			icon = cs.FailureIcon()
			failures++
		}
		fmt.Fprintf(opts.IO.Out, "%s %-8s %s\n", icon, f.topic, f.text)
	}
	if failures > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%d problem(s) would stop `quickscale up`; fix them and run `quickscale check` again\n", failures)
		return ErrSilent
	}
	return nil
}

var goVersionLine = regexp.MustCompile(`^go version (go[0-9][^ ]*) `)

// checkGo runs the go command the way build does.
func checkGo(ctx context.Context) (int, string) {
	path, err := exec.LookPath("go")
	if err != nil {
		return findingFail, "the go command is not on PATH; install Go 1.21 or newer (it fetches " + appcontract.GoToolchain + " by itself)"
	}
	// The first run may download the toolchain (a few seconds).
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+appcontract.GoToolchain)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return findingFail, fmt.Sprintf("%s cannot run Go %s: %s; install Go 1.21 or newer and make sure the Go module proxy is reachable", path, appcontract.GoToolchain, strings.TrimSpace(string(out)))
	}
	m := goVersionLine.FindStringSubmatch(string(out))
	if m == nil || m[1] != appcontract.GoToolchain {
		return findingFail, fmt.Sprintf("%s runs %s, not %s: it is too old to switch toolchains; install Go 1.21 or newer", path, strings.TrimSpace(string(out)), appcontract.GoToolchain)
	}
	return findingOK, fmt.Sprintf("%s (through %s)", m[1], path)
}

// checkPorts reports the stack's host ports that something other than the
// stack itself holds.
func checkPorts(ctx context.Context, p Project, e docker.Engine) []finding {
	env, err := p.dotEnv()
	if err != nil {
		return []finding{{findingFail, "Ports", err.Error()}}
	}
	if e != nil && !e.Info().Local {
		return []finding{{findingWarn, "Ports", "the Docker Engine runs on another machine; its ports were not checked"}}
	}
	ours := map[int]bool{}
	if e != nil {
		if services, err := e.Services(ctx, p.stack(nil)); err == nil {
			for _, s := range services {
				for _, port := range s.Ports {
					ours[port.HostPort] = true
				}
			}
		}
	}
	type want struct {
		variable string
		def      int
	}
	wants := []want{{"APP_PORT", appcontract.HTTPPort}}
	if p.Marker.DB == "postgres" {
		wants = append(wants, want{"POSTGRES_PORT", 5432})
	}
	var out []finding
	for _, w := range wants {
		raw := os.Getenv(w.variable)
		if raw == "" {
			raw = env[w.variable]
		}
		port := w.def
		if raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 1 || n > 65535 {
				out = append(out, finding{findingFail, "Ports", fmt.Sprintf("%s is %q; set it in .env to a port number", w.variable, raw)})
				continue
			}
			port = n
		}
		switch {
		case ours[port]:
			out = append(out, finding{findingOK, "Ports", fmt.Sprintf("%d (%s) is published by %s, which is running", port, w.variable, p.Marker.Name)})
		case portInUse(port):
			out = append(out, finding{findingFail, "Ports", fmt.Sprintf("%d (%s) is in use on 127.0.0.1; stop what holds it, or set %s in .env to a free port (for the app, `quickscale up --port` works too)", port, w.variable, w.variable)})
		default:
			out = append(out, finding{findingOK, "Ports", fmt.Sprintf("%d (%s) is free", port, w.variable)})
		}
	}
	return out
}

func portInUse(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return true
	}
	l.Close()
	return false
}

// checkPostgresImage warns when the database image is not local: up will
// have to pull it.
func checkPostgresImage(ctx context.Context, p Project, e docker.Engine) []finding {
	env, err := p.dotEnv()
	if err != nil {
		return nil
	}
	img := os.Getenv("POSTGRES_IMAGE")
	if img == "" {
		img = env["POSTGRES_IMAGE"]
	}
	if img == "" {
		img = "postgres:17"
	}
	ok, err := e.ImageExists(ctx, img)
	switch {
	case err != nil:
		return []finding{{findingWarn, "Images", err.Error()}}
	case !ok:
		return []finding{{findingWarn, "Images", fmt.Sprintf("%s is not present locally; up will pull it, which needs its registry (or set POSTGRES_IMAGE in .env to a local image)", img)}}
	}
	return []finding{{findingOK, "Images", img + " is present"}}
}
