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
// outright.
func Main() ExitCode {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore the default handlers: the next Ctrl-C is immediate
	}()
	return run(ctx, NewFactory(), os.Args[1:])
}

// run executes one command line against f.
func run(ctx context.Context, f *Factory, args []string) ExitCode {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	return handleError(f.IOStreams, cmd, err)
}
