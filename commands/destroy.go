package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/project"
	"github.com/quickscale/quickscale/internal/prompt"
)

// DestroyOptions are `quickscale destroy`'s flags and dependencies.
type DestroyOptions struct {
	IO         *iostreams.IOStreams
	WorkingDir func() (string, error)
	Project    func() (Project, error)
	Docker     func() (docker.Engine, error)
	Prompter   func() prompt.Prompter

	Yes         bool
	DeleteFiles bool
}

// NewCmdDestroy builds `quickscale destroy`.
func NewCmdDestroy(f *Factory, runF func(context.Context, *DestroyOptions) error) *cobra.Command {
	opts := &DestroyOptions{IO: f.IOStreams, WorkingDir: f.WorkingDir, Project: f.Project, Docker: f.Docker, Prompter: f.Prompter}
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Remove everything Docker holds for the project: containers, data, images",
		Long: `Remove every container, network, volume (all of the project's data) and
image that carries the project's labels, after a confirmation.

--delete-files also deletes the project directory itself, code included.
Your shell may then sit in a directory that no longer exists: cd out of it.

--yes confirms without asking, and is required when there is no terminal
to ask on.`,
		Example: `  $ quickscale destroy
  $ quickscale destroy --yes
  $ quickscale destroy --delete-files`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return destroyRun(cmd.Context(), opts)
		},
	}
	cmd.Annotations = map[string]string{annotationDocker: "true"}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "Confirm without asking")
	cmd.Flags().BoolVar(&opts.DeleteFiles, "delete-files", false, "Also delete the project directory")
	return cmd
}

func destroyRun(ctx context.Context, opts *DestroyOptions) error {
	p, err := opts.Project()
	if err != nil {
		return err
	}
	if opts.DeleteFiles {
		if err := deletableProjectDir(p.Root); err != nil {
			return err
		}
	}
	what := "its containers, networks, images and all its data"
	if opts.DeleteFiles {
		what += ", and delete " + p.Root + " with all the code in it"
	}
	question := fmt.Sprintf("Destroy %s: remove %s?", p.Marker.Name, what)
	if err := confirmOrYes(ctx, opts.IO, opts.Prompter, opts.Yes, "destroying "+p.Marker.Name, question,
		"This cannot be undone.", "Nothing was removed."); err != nil {
		return err
	}
	e, err := opts.Docker()
	if err != nil {
		return err
	}
	opts.IO.StartProgressIndicatorWithLabel("removing " + p.Marker.Name + "'s Docker resources")
	removed, err := e.Destroy(ctx, p.Marker.Name)
	opts.IO.StopProgressIndicator()
	if err != nil {
		// The files stay until Docker is clean: they are what lets a
		// second destroy find the project again.
		return err
	}
	cs := opts.IO.ColorScheme()
	fmt.Fprintf(opts.IO.Out, "%s removed %d containers, %d networks, %d volumes, %d images of %s\n", cs.SuccessIcon(),
		len(removed.Containers), len(removed.Networks), len(removed.Volumes), len(removed.Images), p.Marker.Name)
	if !opts.DeleteFiles {
		return nil
	}
	if err := os.RemoveAll(p.Root); err != nil {
		return fmt.Errorf("delete %s: %w; the Docker resources are gone, delete the directory by hand", p.Root, err)
	}
	fmt.Fprintf(opts.IO.Out, "%s deleted %s\n", cs.SuccessIcon(), p.Root)
	if wd, err := opts.WorkingDir(); err != nil || strings.HasPrefix(wd+string(filepath.Separator), p.Root+string(filepath.Separator)) {
		fmt.Fprintln(opts.IO.ErrOut, "Your shell was inside the deleted directory: cd out of it.")
	}
	return nil
}

// deletableProjectDir refuses directories whose deletion is surely a
// mistake: the home directory, the filesystem root, or one without the
// marker (the project was found through it, so it must be there).
func deletableProjectDir(root string) error {
	clean := filepath.Clean(root)
	if home, err := os.UserHomeDir(); err == nil && filepath.Clean(home) == clean {
		return fmt.Errorf("refusing to delete %s: it is your home directory; move the project into its own directory first", clean)
	}
	if filepath.Dir(clean) == clean {
		return fmt.Errorf("refusing to delete %s: it is a filesystem root", clean)
	}
	if _, err := os.Stat(filepath.Join(clean, project.FileName)); err != nil {
		return fmt.Errorf("refusing to delete %s: it has no %s", clean, project.FileName)
	}
	return nil
}
