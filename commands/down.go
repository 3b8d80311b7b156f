package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/prompt"
)

// DownOptions are `quickscale down`'s flags and dependencies.
type DownOptions struct {
	IO       *iostreams.IOStreams
	Project  func() (Project, error)
	Docker   func() (docker.Engine, error)
	Prompter func() prompt.Prompter

	Volumes bool
	Yes     bool
}

// NewCmdDown builds `quickscale down`.
func NewCmdDown(f *Factory, runF func(context.Context, *DownOptions) error) *cobra.Command {
	opts := &DownOptions{IO: f.IOStreams, Project: f.Project, Docker: f.Docker, Prompter: f.Prompter}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the app and remove its containers, keeping the data",
		Long: `Stop the project's stack and remove its containers and network. The data
(the SQLite file or the PostgreSQL database, in named volumes) is kept for
the next ` + "`quickscale up`" + `.

With --volumes the data is deleted too, after a confirmation; --yes confirms
without asking, and is required when there is no terminal to ask on.`,
		Example: `  $ quickscale down
  $ quickscale down --volumes --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Yes && !opts.Volumes {
				return FlagErrorf("--yes confirms deleting the data and only goes with --volumes")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return downRun(cmd.Context(), opts)
		},
	}
	cmd.Annotations = map[string]string{annotationDocker: "true"}
	cmd.Flags().BoolVar(&opts.Volumes, "volumes", false, "Also delete the data volumes (asks first)")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "Delete the volumes without asking")
	return cmd
}

func downRun(ctx context.Context, opts *DownOptions) error {
	p, err := opts.Project()
	if err != nil {
		return err
	}
	if opts.Volumes {
		question := fmt.Sprintf("Delete all data of %s?", p.Marker.Name)
		err := confirmOrYes(ctx, opts.IO, opts.Prompter, opts.Yes, "deleting the data volumes", question,
			"The database in its Docker volumes is removed for good.", "Nothing was stopped or deleted.")
		if err != nil {
			return err
		}
	}
	e, err := opts.Docker()
	if err != nil {
		return err
	}
	opts.IO.StartProgressIndicatorWithLabel("stopping " + p.Marker.Name)
	err = e.Down(ctx, p.stack(nil), docker.DownOptions{Volumes: opts.Volumes})
	opts.IO.StopProgressIndicator()
	if err != nil {
		return err
	}
	cs := opts.IO.ColorScheme()
	if opts.Volumes {
		fmt.Fprintf(opts.IO.Out, "%s %s stopped; its data was deleted\n", cs.SuccessIcon(), p.Marker.Name)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "%s %s stopped; its data is kept for the next `quickscale up`\n", cs.SuccessIcon(), p.Marker.Name)
	return nil
}
