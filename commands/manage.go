package commands

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/iostreams"
)

// ManageOptions are `quickscale manage`'s arguments and dependencies.
type ManageOptions struct {
	IO      *iostreams.IOStreams
	Project func() (Project, error)
	Docker  func() (docker.Engine, error)

	// Args is the app's subcommand and its arguments, verbatim.
	Args []string
}

// NewCmdManage builds `quickscale manage`.
func NewCmdManage(f *Factory, runF func(context.Context, *ManageOptions) error) *cobra.Command {
	opts := &ManageOptions{IO: f.IOStreams, Project: f.Project, Docker: f.Docker}
	cmd := &cobra.Command{
		Use:   "manage <subcommand> [args...]",
		Short: "Run one of the app's own commands (migrate, ...) in its container",
		Long: `Run a subcommand of the app's binary, with its arguments passed on exactly as
given, and exit with its exit status.

When the stack is up the command runs inside the app container; otherwise in
a one-off container with the same image, environment, network and volumes
(and no published ports), which is removed afterwards. On a terminal, input
and output are attached, so the command can ask questions.

Without a subcommand, the app lists the ones it offers.`,
		Example: `  $ quickscale manage
  $ quickscale manage migrate status
  $ quickscale manage migrate down`,
		// Everything after "manage" belongs to the app, --help included.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if len(opts.Args) == 0 {
				opts.Args = []string{"help"}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return manageRun(cmd.Context(), opts)
		},
	}
	cmd.Annotations = map[string]string{annotationDocker: "true"}
	return cmd
}

func manageRun(ctx context.Context, opts *ManageOptions) error {
	p, e, err := projectEngine(opts.Project, opts.Docker)
	if err != nil {
		return err
	}
	stack := p.stack(nil)
	command := docker.Command{
		Service:     docker.AppService,
		Args:        append([]string{appcontract.ImageBinary}, opts.Args...),
		Interactive: opts.IO.IsStdinTTY() || stdinHasInput(opts.IO),
		TTY:         opts.IO.IsStdinTTY() && opts.IO.IsStdoutTTY(),
	}
	_, running, err := runningApp(ctx, e, stack)
	if err != nil {
		return err
	}
	var code int
	if running {
		code, err = e.Exec(ctx, stack, command)
	} else {
		opts.IO.Debugf("%s is not running: using a one-off container", p.Marker.Name)
		code, err = e.Run(ctx, stack, command)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitStatusError{Code: code}
	}
	return nil
}

// stdinHasInput reports whether stdin is a pipe or a file: input meant for
// the app's command (a password piped to createadmin), to be passed on.
func stdinHasInput(ios *iostreams.IOStreams) bool {
	f, ok := ios.In.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	if err != nil {
		return false
	}
	return info.Mode()&(os.ModeNamedPipe|os.ModeType) == os.ModeNamedPipe || info.Mode().IsRegular()
}
