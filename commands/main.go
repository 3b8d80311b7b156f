// Package commands holds quickscale's cobra commands, one a file, with the
// factory that hands them their dependencies and the one function that turns
// their errors into exit codes.
package commands

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Main runs quickscale with the process's arguments and streams and returns
// its exit code. SIGINT and SIGTERM cancel the command's context, so work in
// progress is cleaned up before the process exits; a second signal kills it
// outright. connect makes the Docker Engine client; without one, Docker
// commands are handed to HelperName.
func Main(connect Connector) ExitCode {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore the default handlers: the next Ctrl-C is immediate
	}()
	f := NewFactory(connect, os.Args[1:])
	if connect != nil {
		if err := checkHandedOver(f.Build); err != nil {
			return handleError(f.IOStreams, nil, err)
		}
	}
	return run(ctx, f, os.Args[1:])
}

// run executes one command line against f.
func run(ctx context.Context, f *Factory, args []string) ExitCode {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	return handleError(f.IOStreams, cmd, err)
}
