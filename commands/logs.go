package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/docker/appbuild"
	"github.com/quickscale/quickscale/internal/iostreams"
)

// LogsOptions are `quickscale logs`'s flags and dependencies.
type LogsOptions struct {
	IO      *iostreams.IOStreams
	Project func() (Project, error)
	Docker  func() (docker.Engine, error)

	Services   []string
	Follow     bool
	Since      string
	Until      string
	Tail       string
	Timestamps bool
	Build      bool
}

// NewCmdLogs builds `quickscale logs`.
func NewCmdLogs(f *Factory, runF func(context.Context, *LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{IO: f.IOStreams, Project: f.Project, Docker: f.Docker}
	cmd := &cobra.Command{
		Use:   "logs [service...]",
		Short: "Show the services' logs, or the latest build's output",
		Long: `Show the log lines of the project's services (app, migrate, db), each line
prefixed with its container. Name services to see only theirs.

-f follows new lines until Ctrl-C. --since and --until take a time stamp
(2026-01-02T15:04:05) or a duration back from now (10m, 1h).

--build prints the full output of the latest ` + "`quickscale build`" + ` instead.`,
		Example: `  $ quickscale logs
  $ quickscale logs -f app
  $ quickscale logs --since 10m -n 100
  $ quickscale logs --build`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Services = args
			if opts.Build && (len(args) > 0 || opts.Follow || opts.Since != "" || opts.Until != "" || cmd.Flags().Changed("tail") || opts.Timestamps) {
				return FlagErrorf("--build prints the build log and takes no services or other flags")
			}
			if opts.Tail != "all" {
				if n, err := strconv.Atoi(opts.Tail); err != nil || n < 0 {
					return FlagErrorf("--tail %q: give a number of lines or \"all\"", opts.Tail)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return logsRun(cmd.Context(), opts)
		},
	}
	cmd.Annotations = map[string]string{annotationDocker: "true"}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "Keep printing new lines until Ctrl-C")
	fl.StringVar(&opts.Since, "since", "", "Only lines since a time stamp or a duration ago (10m)")
	fl.StringVar(&opts.Until, "until", "", "Only lines before a time stamp or a duration ago")
	fl.StringVarP(&opts.Tail, "tail", "n", "all", "Number of lines from the end of each log")
	fl.BoolVarP(&opts.Timestamps, "timestamps", "t", false, "Show time stamps")
	fl.BoolVar(&opts.Build, "build", false, "Print the latest build log")
	return cmd
}

func logsRun(ctx context.Context, opts *LogsOptions) error {
	p, err := opts.Project()
	if err != nil {
		return err
	}
	if opts.Build {
		path, err := appbuild.LatestLog(p.Root)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("read the build log: %w", err)
		}
		defer f.Close()
		fmt.Fprintf(opts.IO.ErrOut, "%s\n", path)
		_, err = io.Copy(opts.IO.Out, f)
		return err
	}
	e, err := opts.Docker()
	if err != nil {
		return err
	}
	stack := p.stack(nil)
	services, err := e.Services(ctx, stack)
	if err != nil {
		return err
	}
	if len(services) == 0 {
		return fmt.Errorf("%s has no containers, so no logs; start it with `quickscale up`", p.Marker.Name)
	}
	width := 0
	for _, s := range services {
		width = max(width, len(strings.TrimPrefix(s.Container, p.Marker.Name+"-")))
	}
	sink := &prefixSink{out: opts.IO.Out, cs: opts.IO.ColorScheme(), width: width, colours: map[string]int{}}
	return e.Logs(ctx, stack, docker.LogOptions{
		Services:   opts.Services,
		Follow:     opts.Follow,
		Since:      opts.Since,
		Until:      opts.Until,
		Tail:       opts.Tail,
		Timestamps: opts.Timestamps,
	}, sink)
}

// prefixSink prints "app-1    | line", one colour per container on a
// terminal. Lines from several containers arrive concurrently.
type prefixSink struct {
	out     io.Writer
	cs      *iostreams.ColorScheme
	width   int
	mu      sync.Mutex
	colours map[string]int
}

var prefixColours = []func(*iostreams.ColorScheme, string) string{
	(*iostreams.ColorScheme).Green,
	(*iostreams.ColorScheme).Yellow,
	(*iostreams.ColorScheme).Bold,
	(*iostreams.ColorScheme).Gray,
}

func (s *prefixSink) Line(source, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.colours[source]
	if !ok {
		i = len(s.colours) % len(prefixColours)
		s.colours[source] = i
	}
	prefix := fmt.Sprintf("%-*s |", s.width, source)
	fmt.Fprintf(s.out, "%s %s\n", prefixColours[i](s.cs, prefix), line)
}
