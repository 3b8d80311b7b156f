package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/docker/appbuild"
	"github.com/quickscale/quickscale/internal/iostreams"
)

// BuildOptions are `quickscale build`'s flags and dependencies.
type BuildOptions struct {
	IO      *iostreams.IOStreams
	Project func() (Project, error)
	Docker  func() (docker.Engine, error)

	NoCache bool
}

// NewCmdBuild builds `quickscale build`.
func NewCmdBuild(f *Factory, runF func(context.Context, *BuildOptions) error) *cobra.Command {
	opts := &BuildOptions{IO: f.IOStreams, Project: f.Project, Docker: f.Docker}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Compile the app and build its container image",
		Long: `Compile the app on this machine (a static Linux binary for the Docker
Engine's architecture, with Go ` + appcontract.GoToolchain + `) and build its FROM scratch image
through the Docker Engine, without any registry.

The image is named <project>-app:<content hash>: when neither the code nor
the Dockerfile changed, the existing image is used and nothing is rebuilt.
The three newest images of the project are kept; older ones are removed.

The full output of every build goes to .quickscale/logs/build-<time>.log;
` + "`quickscale logs --build`" + ` prints the latest one.`,
		Example: `  $ quickscale build
  $ quickscale build --no-cache`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return buildRun(cmd.Context(), opts)
		},
	}
	cmd.Annotations = map[string]string{annotationDocker: "true"}
	cmd.Flags().BoolVar(&opts.NoCache, "no-cache", false, "Recompile every package and rebuild the image from scratch")
	return cmd
}

func buildRun(ctx context.Context, opts *BuildOptions) error {
	p, e, err := projectEngine(opts.Project, opts.Docker)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := buildImage(ctx, opts.IO, p, e, opts.NoCache)
	if err != nil {
		return err
	}
	verb := "Built"
	if !res.Built {
		verb = "Up to date:"
	}
	fmt.Fprintf(opts.IO.Out, "%s %s (binary %s) in %s\n", verb, res.Image, humanBytes(res.Size), time.Since(start).Round(100*time.Millisecond))
	if opts.IO.Verbose() {
		fmt.Fprintf(opts.IO.ErrOut, "build log: %s\n", res.LogPath)
	}
	return nil
}

// buildImage runs the build with progress on stderr; up uses it too.
func buildImage(ctx context.Context, ios *iostreams.IOStreams, p Project, e docker.Engine, noCache bool) (appbuild.Result, error) {
	res, err := p.builder(e, ios).Build(ctx, appbuild.Options{NoCache: noCache})
	ios.StopProgressIndicator()
	if errors.Is(err, context.Canceled) {
		return res, &CancelError{Message: "Build interrupted; no image was tagged and the last good image is unchanged."}
	}
	if err != nil {
		return res, err
	}
	for _, img := range res.Pruned {
		ios.Debugf("removed old image %s", img)
	}
	return res, nil
}
