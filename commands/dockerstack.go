package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/docker/appbuild"
	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/project"
)

// defaultAppPort is the host port compose.yaml publishes the app on when
// neither APP_PORT nor --port says otherwise.
const defaultAppPort = 8000

// ExitStatusError carries the exit status of a program quickscale ran for
// the user (the app's own subcommand, the project's tests). That program
// has already said what went wrong, so nothing more is printed; quickscale
// exits with the same status.
type ExitStatusError struct {
	Code int
}

func (e *ExitStatusError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Unwrap makes the error silent: handleError prints nothing for ErrSilent.
func (e *ExitStatusError) Unwrap() error { return ErrSilent }

// localProject is the project the command runs in, found from the working
// directory.
type localProject struct {
	Root   string
	Marker project.Marker
}

// findProject looks for quickscale.yaml in the working directory and its
// parents.
func findProject() (localProject, error) {
	wd, err := os.Getwd()
	if err != nil {
		return localProject{}, fmt.Errorf("find the working directory: %w", err)
	}
	root, m, err := project.Find(wd)
	if err != nil {
		return localProject{}, err
	}
	return localProject{Root: root, Marker: m}, nil
}

// projectEngine finds the project around the working directory, then
// connects to Docker: the first two steps of every Docker command, in the
// order that gives the more useful error outside a project.
func projectEngine(connect func() (docker.Engine, error)) (localProject, docker.Engine, error) {
	p, err := findProject()
	if err != nil {
		return localProject{}, nil, err
	}
	e, err := connect()
	if err != nil {
		return localProject{}, nil, err
	}
	return p, e, nil
}

// stack is the project's compose stack, with env overriding compose.yaml's
// variables.
func (p localProject) stack(env map[string]string) docker.Stack {
	if env == nil {
		env = map[string]string{}
	}
	return docker.Stack{Name: p.Marker.Name, Dir: p.Root, Env: env}
}

// dotEnv reads the project's .env; a missing file is an empty one.
func (p localProject) dotEnv() (map[string]string, error) {
	path := filepath.Join(p.Root, ".env")
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return map[string]string{}, nil
	}
	env, err := dotenv.GetEnvFromFile(nil, []string{path})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w; fix the line it names", path, err)
	}
	return env, nil
}

// setting is a variable the way compose interpolates it: from the
// environment, then from .env.
func (p localProject) setting(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	env, err := p.dotEnv()
	if err != nil {
		return "", err
	}
	return env[name], nil
}

// appPort is the host port the app is published on, chosen the way
// compose chooses it: the flag, then the environment, then .env.
func (p localProject) appPort(flag int) (int, error) {
	if flag != 0 {
		return flag, nil
	}
	raw, err := p.setting("APP_PORT")
	if err != nil {
		return 0, err
	}
	if raw == "" {
		return defaultAppPort, nil
	}
	port, err := strconv.Atoi(raw)
	if err != nil || port < 1 || port > 65535 {
		return 0, &SettingError{err: fmt.Errorf("APP_PORT is %q; set it in .env to a port number such as 8000", raw)}
	}
	return port, nil
}

// builder is the project's image builder.
func (p localProject) builder(e docker.Engine, prog *progress) *appbuild.Builder {
	return &appbuild.Builder{Engine: e, Root: p.Root, Name: p.Marker.Name, Step: prog.Step}
}

// runningApp returns the app container of the stack if it runs.
func runningApp(ctx context.Context, e docker.Engine, s docker.Stack) (docker.Service, bool, error) {
	services, err := e.Services(ctx, s)
	if err != nil {
		return docker.Service{}, false, err
	}
	for _, svc := range services {
		if svc.Service == docker.AppService && svc.State == "running" {
			return svc, true, nil
		}
	}
	return docker.Service{}, false, nil
}

// appURL is the URL of a running app container, from its published port.
func runningAppURL(app docker.Service) (string, bool) {
	for _, port := range app.Ports {
		if port.ContainerPort == 8000 && port.HostPort != 0 {
			return "http://localhost:" + strconv.Itoa(port.HostPort), true
		}
	}
	return "", false
}

// progress reports steps on stderr: a spinner on a terminal, plain lines
// otherwise (a log file or CI output should not fill with \r frames).
type progress struct {
	out      io.Writer
	tty      bool
	mu       sync.Mutex
	step     string
	started  bool
	stop     chan struct{}
	finished chan struct{}
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newProgress(ios *iostreams.IOStreams) *progress {
	return &progress{out: ios.ErrOut, tty: ios.IsStderrTTY()}
}

// Step shows what is happening now.
func (p *progress) Step(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.step = msg
	if !p.tty {
		fmt.Fprintln(p.out, msg)
		return
	}
	if !p.started {
		p.started = true
		p.stop = make(chan struct{})
		p.finished = make(chan struct{})
		go p.spin()
	}
}

// Print writes a line that stays, above the spinner.
func (p *progress) Print(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.out, "\r\033[K")
	}
	fmt.Fprintln(p.out, line)
}

// Done stops the spinner and clears its line.
func (p *progress) Done() {
	p.mu.Lock()
	started := p.started
	p.started = false
	p.mu.Unlock()
	if !started {
		return
	}
	close(p.stop)
	<-p.finished
	fmt.Fprint(p.out, "\r\033[K")
}

func (p *progress) spin() {
	defer close(p.finished)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		p.mu.Lock()
		fmt.Fprintf(p.out, "\r\033[K%s %s", spinnerFrames[i%len(spinnerFrames)], p.step)
		p.mu.Unlock()
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

// confirmOrYes asks question on a terminal; without one, --yes must have
// been given. action names what needs the confirmation. It returns a
// CancelError when the user says no.
func confirmOrYes(ctx context.Context, f *Factory, yes bool, action, question, help, declined string) error {
	if yes {
		return nil
	}
	if !f.IOStreams.CanPrompt() {
		return FlagErrorf("%s needs confirmation and there is no terminal to ask on; pass --yes to confirm", action)
	}
	ok, err := f.Prompter().Confirm(ctx, question, help, false)
	if err != nil {
		return err
	}
	if !ok {
		return &CancelError{Message: declined}
	}
	return nil
}

// humanBytes prints a size the way people read it.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
