package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/iostreams"
)

// PsOptions are `quickscale ps`'s flags and dependencies.
type PsOptions struct {
	IO      *iostreams.IOStreams
	Project func() (Project, error)
	Docker  func() (docker.Engine, error)

	JSON bool
}

// NewCmdPs builds `quickscale ps`.
func NewCmdPs(f *Factory, runF func(context.Context, *PsOptions) error) *cobra.Command {
	opts := &PsOptions{IO: f.IOStreams, Project: f.Project, Docker: f.Docker}
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List the project's services: state, health and ports",
		Long: `List the containers of the project's stack with their state, health and
published ports. The migrate service runs once at start-up, so "exited (0)"
is its normal state.

--json prints the same as a JSON array, for scripts.`,
		Example: `  $ quickscale ps
  $ quickscale ps --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return psRun(cmd.Context(), opts)
		},
	}
	cmd.Annotations = map[string]string{annotationDocker: "true"}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "Print JSON")
	return cmd
}

func psRun(ctx context.Context, opts *PsOptions) error {
	p, e, err := projectEngine(opts.Project, opts.Docker)
	if err != nil {
		return err
	}
	services, err := e.Services(ctx, p.stack(nil))
	if err != nil {
		return err
	}
	if opts.JSON {
		if services == nil {
			services = []docker.Service{}
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(services)
	}
	if len(services) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%s is not running; start it with `quickscale up`\n", p.Marker.Name)
		return nil
	}
	rows := [][]string{{"SERVICE", "STATE", "HEALTH", "PORTS"}}
	for _, s := range services {
		state := s.State
		if s.State == "exited" {
			state = fmt.Sprintf("exited (%d)", s.ExitCode)
		}
		health := s.Health
		if health == "" {
			health = "-"
		}
		var ports []string
		for _, port := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d->%d/%s", port.HostIP, port.HostPort, port.ContainerPort, port.Protocol))
		}
		if len(ports) == 0 {
			ports = []string{"-"}
		}
		rows = append(rows, []string{s.Service, state, health, strings.Join(ports, ", ")})
	}
	printTable(opts.IO.Out, opts.IO.ColorScheme(), rows)
	return nil
}

// printTable aligns columns itself: colour codes would throw tabwriter's
// widths off. Health words are coloured on a terminal.
func printTable(w io.Writer, cs *iostreams.ColorScheme, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for r, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			pad := ""
			if i < len(row)-1 {
				pad = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2)
			}
			if r > 0 && i == 2 {
				switch cell {
				case "healthy":
					cell = cs.Green(cell)
				case "unhealthy":
					cell = cs.Red(cell)
				case "starting":
					cell = cs.Yellow(cell)
				}
			}
			b.WriteString(cell + pad)
		}
		fmt.Fprintln(w, b.String())
	}
}
