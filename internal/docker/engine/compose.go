// Package engine is the docker.Engine over the Engine API, with the compose
// library running in-process (no compose plugin needed). It is kept apart
// from package docker because linking it costs every command of a program
// its package initialisation (tens of milliseconds; see cmd/quickscale).
package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/cli/cli"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/docker/compose/v5/pkg/compose"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/quickscale/quickscale/internal/docker"
)

// cleanupTimeout bounds the clean-up after an interrupted up, which runs on
// a fresh context because the command's own was cancelled.
const cleanupTimeout = 60 * time.Second

// failureLogLines is how many of a failed service's last log lines an error
// shows.
const failureLogLines = 20

// Up implements docker.Engine.
func (c *Compose) Up(ctx context.Context, s docker.Stack, opts docker.UpOptions) error {
	p, err := c.load(ctx, s)
	if err != nil {
		return err
	}
	if err := c.checkPorts(ctx, s, p); err != nil {
		return err
	}
	report := opts.Progress
	if report == nil {
		report = func(string) {}
	}
	if c.upToDate(ctx, p) {
		// compose would change nothing, yet restart the one-shot services
		// (a migrate run, a second or more); only the wait is needed.
		report("containers up to date")
		return c.waitReady(ctx, s, p, opts, report)
	}
	bus := &progressBus{report: report}
	svc, err := c.serviceWith(bus)
	if err != nil {
		return err
	}
	err = c.converge(ctx, svc, p)
	if err == nil {
		err = c.waitReady(ctx, s, p, opts, report)
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		// An interrupted up leaves the stack stopped rather than half
		// started; the data stays, and the next up starts from a clean slate.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if derr := c.stopHalfStarted(cctx, p); derr != nil {
			return fmt.Errorf("up interrupted, and stopping the half-started stack failed: %w; run `quickscale down`", derr)
		}
		return fmt.Errorf("up interrupted; the stack is stopped and its data kept: %w", ctx.Err())
	}
	return c.explainUpFailure(ctx, s, p, err)
}

// converge does what compose's up does, creating every container that
// diverged and starting the stack in dependency order, with two shortcuts
// on the way from a code change to the app serving it:
//
//   - quickscale waits for the one-shot services (migrate) itself: compose
//     checks a completed dependency on a half-second tick, the first check
//     half a second after the start, while the engine reports a container's
//     exit the moment it happens;
//   - the app is recreated while the one-shots run rather than before them,
//     and when the services they need are already running, healthy and
//     unchanged (the database on a code change), or there are none (SQLite:
//     migrate only opens a file), it also starts alongside them. The app is
//     built for that: with its schema behind it serves, but reports not
//     ready until the migrations ran, and up waits for ready. Otherwise (a
//     database being created or recreated) the app starts once migrate
//     completed, as compose.yaml says, so it never meets a database that is
//     still starting.
func (c *Compose) converge(ctx context.Context, svc api.Compose, p *types.Project) error {
	create := api.CreateOptions{
		RemoveOrphans:        true,
		Recreate:             api.RecreateDiverged,
		RecreateDependencies: api.RecreateDiverged,
	}
	shots := oneShots(p)
	if len(shots) == 0 {
		if err := svc.Create(ctx, p, create); err != nil {
			return err
		}
		return svc.Start(ctx, p.Name, api.StartOptions{Project: p})
	}
	names := slices.Sorted(maps.Keys(shots))
	// The one-shot services with what they depend on (the database), which
	// compose still waits for as the file says.
	first, err := p.WithSelectedServices(names)
	if err != nil {
		return err
	}
	// Everything else, without the dependencies on the one-shot services:
	// quickscale waits for those itself, and compose would otherwise wait
	// again or start them a second time.
	var others []string
	for _, name := range p.ServiceNames() {
		if _, inFirst := first.Services[name]; !inFirst {
			others = append(others, name)
		}
	}
	rest, err := p.WithSelectedServices(others, types.IgnoreDependencies)
	if err != nil {
		return err
	}
	byService, _, err := c.serviceContainers(ctx, p.Name)
	if err != nil {
		return err
	}
	startEarly := true
	for name := range first.Services {
		if !shots[name] && !c.current(ctx, p, byService, name, false, true) {
			startEarly = false
			break
		}
	}

	// The first create makes the volumes and networks the one-shots use; the
	// second then only finds those, so the two never race to make one.
	if err := svc.Create(ctx, first, create); err != nil {
		return err
	}
	restDone := make(chan error, 1)
	go func() {
		err := svc.Create(ctx, rest, create)
		if err == nil && startEarly {
			err = svc.Start(ctx, p.Name, api.StartOptions{Project: rest})
		}
		restDone <- err
	}()
	err = svc.Start(ctx, p.Name, api.StartOptions{Project: first})
	if err == nil {
		for _, name := range names {
			if err = c.waitCompleted(ctx, p.Name, name); err != nil {
				break
			}
		}
	}
	restErr := <-restDone
	if err != nil {
		return err
	}
	if restErr != nil {
		return restErr
	}
	if !startEarly {
		return svc.Start(ctx, p.Name, api.StartOptions{Project: rest})
	}
	return nil
}

// waitCompleted waits for a started one-shot service's container to exit
// and fails unless it exited with code 0.
func (c *Compose) waitCompleted(ctx context.Context, project, service string) error {
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).
		Add("label", api.ProjectLabel+"="+project).
		Add("label", api.ServiceLabel+"="+service).
		Add("label", api.OneoffLabel+"=False")})
	if err != nil {
		return fmt.Errorf("find the %s container: %w", service, err)
	}
	if len(res.Items) == 0 {
		return fmt.Errorf("the %s container vanished before it completed; run `quickscale up` again", service)
	}
	for _, ctr := range res.Items {
		wait := c.api.ContainerWait(ctx, ctr.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-wait.Error:
			return fmt.Errorf("wait for the %s container: %w", service, err)
		case r := <-wait.Result:
			if r.StatusCode != 0 {
				return fmt.Errorf("service %s exited with code %d", service, r.StatusCode)
			}
		}
	}
	return nil
}

// stopHalfStarted takes down a stack whose up was interrupted. A container
// create that was in flight when the command was cancelled still completes
// in the engine, possibly after a first down has looked; so down repeats
// until the project has had no container for a short quiet period.
func (c *Compose) stopHalfStarted(ctx context.Context, p *types.Project) error {
	const quietPeriod = 2 * time.Second
	for {
		if err := c.svc.Down(ctx, p.Name, api.DownOptions{Project: p, RemoveOrphans: true}); err != nil {
			return err
		}
		quietUntil := time.Now().Add(quietPeriod)
		for {
			res, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).
				Add("label", api.ProjectLabel+"="+p.Name)})
			if err != nil {
				return err
			}
			if len(res.Items) > 0 {
				break // a late container: down again
			}
			if time.Now().After(quietUntil) {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
}

// upToDate reports whether every service has exactly one container,
// created from the service's current configuration and image, and running
// (or, for a one-shot service, exited with code 0). Any doubt answers false
// and leaves the decision to compose.
func (c *Compose) upToDate(ctx context.Context, p *types.Project) bool {
	byService, count, err := c.serviceContainers(ctx, p.Name)
	if err != nil || count != len(p.Services) {
		return false
	}
	shots := oneShots(p)
	for name := range p.Services {
		if !c.current(ctx, p, byService, name, shots[name], false) {
			return false
		}
	}
	return true
}

// serviceContainers returns the project's containers by service, one-off
// runs excluded, and how many there are.
func (c *Compose) serviceContainers(ctx context.Context, project string) (map[string]container.Summary, int, error) {
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).
		Add("label", api.ProjectLabel+"="+project).Add("label", api.OneoffLabel+"=False")})
	if err != nil {
		return nil, 0, err
	}
	byService := map[string]container.Summary{}
	for _, ctr := range res.Items {
		byService[ctr.Labels[api.ServiceLabel]] = ctr
	}
	return byService, len(res.Items), nil
}

// current reports whether the service's container was created from its
// current configuration and image and is in the state a finished up leaves
// it: exited with code 0 for a one-shot service, running otherwise, and with
// healthy also healthy when the service has a health check.
func (c *Compose) current(ctx context.Context, p *types.Project, byService map[string]container.Summary, name string, oneShot, healthy bool) bool {
	svc, ok := p.Services[name]
	ctr, found := byService[name]
	if !ok || !found {
		return false
	}
	hash, err := compose.ServiceHash(svc)
	if err != nil || ctr.Labels[api.ConfigHashLabel] != hash {
		return false
	}
	img, err := c.api.ImageInspect(ctx, svc.Image)
	if err != nil || img.ID != ctr.ImageID {
		return false
	}
	if oneShot {
		return ctr.State == container.StateExited && strings.HasPrefix(ctr.Status, "Exited (0)")
	}
	if ctr.State != container.StateRunning {
		return false
	}
	checked := svc.HealthCheck != nil && !svc.HealthCheck.Disable
	return !healthy || !checked || strings.Contains(ctr.Status, "(healthy)")
}

// serviceWith returns a compose service reporting its progress to bus.
func (c *Compose) serviceWith(bus api.EventProcessor) (api.Compose, error) {
	return composeService(c.cli, bus)
}

// checkPorts finds host ports the stack publishes that something other
// than the stack itself holds. The engine would refuse them too, but only
// after creating the containers, and with less helpful words.
func (c *Compose) checkPorts(ctx context.Context, s docker.Stack, p *types.Project) error {
	if !c.info.Local {
		return nil
	}
	ours := map[int]bool{}
	running, err := c.Services(ctx, s)
	if err != nil {
		return err
	}
	for _, r := range running {
		for _, port := range r.Ports {
			ours[port.HostPort] = true
		}
	}
	for _, name := range sortedServiceNames(p) {
		for _, pc := range p.Services[name].Ports {
			port, err := strconv.Atoi(pc.Published)
			if err != nil || port == 0 || ours[port] {
				continue
			}
			if err := portFree(pc.HostIP, port); err != nil {
				return &docker.PortBusyError{Port: port, Err: err}
			}
		}
	}
	return nil
}

// portFree tries to listen where the engine will publish.
func portFree(hostIP string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(hostIP, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// waitReady polls the stack until every long-running service runs and is
// healthy (or passes its readiness probe), and every one-shot service has
// completed; a crash, an unhealthy service or the timeout ends the wait.
func (c *Compose) waitReady(ctx context.Context, s docker.Stack, p *types.Project, opts docker.UpOptions, report func(string)) error {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	shots := oneShots(p)
	announced := map[string]bool{}
	// The app answers its readiness probe a few tens of milliseconds after
	// its container starts; a coarser poll would add most of a tick to
	// every up. A poll is one container list and one local request.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := c.Services(ctx, s)
		if err != nil {
			return err
		}
		byService := map[string]docker.Service{}
		for _, svc := range got {
			byService[svc.Service] = svc
		}
		pending, pendingState := "", ""
		for _, name := range sortedServiceNames(p) {
			svc, ok := byService[name]
			state := "not created"
			if ok {
				state = svc.State
			}
			hc := p.Services[name].HealthCheck
			checked := hc != nil && !hc.Disable
			ready, failure := serviceReady(ctx, svc, ok, shots[name], checked, opts.Ready[name])
			if failure != "" {
				return &docker.ServiceFailedError{Service: name, Reason: failure, Logs: c.lastLines(ctx, s, name)}
			}
			if !ready {
				if pending == "" {
					pending, pendingState = name, state
					if ok && svc.Health != "" {
						pendingState = svc.Health
					}
				}
				continue
			}
			if !announced[name] {
				announced[name] = true
				if shots[name] {
					report(name + " completed")
				} else {
					report(name + " ready")
				}
			}
		}
		if pending == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return &docker.TimeoutError{Service: pending, State: pendingState, After: timeout.String(), Logs: c.lastLines(ctx, s, pending)}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// serviceReady judges one service; failure is non-empty when it failed.
// checked says the service has a health check: then running is not enough.
func serviceReady(ctx context.Context, svc docker.Service, exists, oneShot, checked bool, probe func(context.Context) bool) (ready bool, failure string) {
	if !exists {
		return false, ""
	}
	switch svc.State {
	case string(container.StateExited), string(container.StateDead):
		if oneShot && svc.ExitCode == 0 {
			return true, ""
		}
		return false, fmt.Sprintf("exited with code %d", svc.ExitCode)
	case string(container.StateRestarting):
		return false, fmt.Sprintf("keeps restarting (last exit code %d)", svc.ExitCode)
	case string(container.StateRunning):
	default:
		return false, ""
	}
	if oneShot {
		return false, ""
	}
	switch svc.Health {
	case string(container.Healthy):
		return true, ""
	case string(container.Unhealthy):
		return false, "is unhealthy"
	case "":
		// No health yet: either the service has no check, or the engine
		// has not begun checking a container that just (re)started.
		if !checked {
			return true, ""
		}
	}
	// Still "starting": the engine checks health at fixed intervals, the
	// first one a whole interval after start; the probe can tell sooner.
	if probe != nil && probe(ctx) {
		return true, ""
	}
	return false, ""
}

// explainUpFailure turns a failed up into the most specific error it can.
func (c *Compose) explainUpFailure(ctx context.Context, s docker.Stack, p *types.Project, upErr error) error {
	var failed *docker.ServiceFailedError
	var timeout *docker.TimeoutError
	if errors.As(upErr, &failed) || errors.As(upErr, &timeout) {
		return upErr
	}
	msg := upErr.Error()
	if strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use") {
		return &docker.PortBusyError{Port: publishedPortIn(msg, p), Err: upErr}
	}
	if got, err := c.Services(ctx, s); err == nil {
		for _, svc := range got {
			if (svc.State == string(container.StateExited) || svc.State == string(container.StateDead)) && svc.ExitCode != 0 {
				return &docker.ServiceFailedError{Service: svc.Service, Reason: fmt.Sprintf("exited with code %d", svc.ExitCode), Logs: c.lastLines(ctx, s, svc.Service)}
			}
		}
	}
	for _, name := range sortedServiceNames(p) {
		img := p.Services[name].Image
		if img == "" {
			continue
		}
		if ok, err := c.ImageExists(ctx, img); err == nil && !ok {
			return &docker.ImageMissingError{Service: name, Image: img, Err: upErr}
		}
	}
	return fmt.Errorf("start the stack: %w", upErr)
}

// publishedPortIn picks the port an engine error names, falling back to the
// app's published port.
func publishedPortIn(msg string, p *types.Project) int {
	for _, name := range sortedServiceNames(p) {
		for _, pc := range p.Services[name].Ports {
			if pc.Published != "" && strings.Contains(msg, ":"+pc.Published) {
				port, _ := strconv.Atoi(pc.Published)
				return port
			}
		}
	}
	if app, ok := p.Services[docker.AppService]; ok && len(app.Ports) > 0 {
		port, _ := strconv.Atoi(app.Ports[0].Published)
		return port
	}
	return 0
}

// lastLines returns a service's last log lines, for error messages.
func (c *Compose) lastLines(ctx context.Context, s docker.Stack, service string) []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var col lineCollector
	_ = c.svc.Logs(ctx, s.Name, &consumer{sink: &col}, api.LogOptions{Services: []string{service}, Tail: strconv.Itoa(failureLogLines)})
	return col.lines
}

// Down implements docker.Engine.
func (c *Compose) Down(ctx context.Context, s docker.Stack, opts docker.DownOptions) error {
	// Without a readable compose.yaml compose still finds the containers and
	// networks by label; only declared volumes would be missed, so look
	// for those by label too.
	p, loadErr := c.load(ctx, s)
	if loadErr != nil {
		p = nil
	}
	err := c.svc.Down(ctx, s.Name, api.DownOptions{Project: p, RemoveOrphans: true, Volumes: opts.Volumes})
	if err != nil {
		return fmt.Errorf("stop the stack: %w", err)
	}
	if opts.Volumes {
		if _, err := c.removeVolumes(ctx, s.Name); err != nil {
			return err
		}
	}
	return nil
}

// Services implements docker.Engine.
func (c *Compose) Services(ctx context.Context, s docker.Stack) ([]docker.Service, error) {
	all, err := c.svc.Ps(ctx, s.Name, api.PsOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list the stack's containers: %w", err)
	}
	var out []docker.Service
	for _, cs := range all {
		if cs.Labels[api.OneoffLabel] == "True" {
			continue
		}
		svc := docker.Service{
			Service:   cs.Service,
			Container: cs.Name,
			Image:     cs.Image,
			State:     string(cs.State),
			Health:    string(cs.Health),
			ExitCode:  cs.ExitCode,
			Status:    cs.Status,
		}
		for _, pub := range cs.Publishers {
			if pub.PublishedPort == 0 {
				continue
			}
			svc.Ports = append(svc.Ports, docker.Port{HostIP: pub.URL, HostPort: pub.PublishedPort, ContainerPort: pub.TargetPort, Protocol: pub.Protocol})
		}
		out = append(out, svc)
	}
	slices.SortFunc(out, func(a, b docker.Service) int { return strings.Compare(a.Container, b.Container) })
	return out, nil
}

// Logs implements docker.Engine.
func (c *Compose) Logs(ctx context.Context, s docker.Stack, opts docker.LogOptions, sink docker.LogSink) error {
	err := c.svc.Logs(ctx, s.Name, &consumer{sink: sink}, api.LogOptions{
		Services:   opts.Services,
		Follow:     opts.Follow,
		Since:      opts.Since,
		Until:      opts.Until,
		Tail:       opts.Tail,
		Timestamps: opts.Timestamps,
	})
	if err != nil && ctx.Err() != nil {
		// Following ends with Ctrl-C; that is the normal way out.
		return nil
	}
	if err != nil {
		return fmt.Errorf("read logs: %w", err)
	}
	return nil
}

// Exec implements docker.Engine.
func (c *Compose) Exec(ctx context.Context, s docker.Stack, cmd docker.Command) (int, error) {
	code, err := c.svc.Exec(ctx, s.Name, api.RunOptions{
		Service:     cmd.Service,
		Command:     cmd.Args,
		Environment: cmd.Env,
		Interactive: cmd.Interactive,
		Tty:         cmd.TTY,
	})
	var status cli.StatusError
	if errors.As(err, &status) {
		return status.StatusCode, nil
	}
	if err != nil {
		return 0, fmt.Errorf("run %s in the %s container: %w", strings.Join(cmd.Args, " "), cmd.Service, err)
	}
	return code, nil
}

// Run implements docker.Engine.
func (c *Compose) Run(ctx context.Context, s docker.Stack, cmd docker.Command) (int, error) {
	if len(cmd.Args) == 0 {
		return 0, errors.New("run: empty command")
	}
	p, err := c.load(ctx, s)
	if err != nil {
		return 0, err
	}
	p, err = oneOffProject(p, cmd.Service)
	if err != nil {
		return 0, err
	}
	// Compose may not build or pull the app image (see prepare), so a
	// project never built would fail deep inside the run with the engine's
	// "No such image".
	if img := p.Services[cmd.Service].Image; img != "" {
		ok, err := c.ImageExists(ctx, img)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, &docker.ImageMissingError{Service: cmd.Service, Image: img, Err: errNeverBuilt}
		}
	}
	code, err := c.svc.RunOneOffContainer(ctx, p, api.RunOptions{
		Project:     p,
		Service:     cmd.Service,
		Entrypoint:  cmd.Args[:1],
		Command:     cmd.Args[1:],
		Environment: cmd.Env,
		Interactive: cmd.Interactive,
		Tty:         cmd.TTY,
		AutoRemove:  true,
	})
	if err != nil {
		return code, fmt.Errorf("run %s in a one-off %s container: %w", strings.Join(cmd.Args, " "), cmd.Service, err)
	}
	return code, nil
}

// oneOffProject narrows p to what a one-off container of service needs:
// the service without its published ports (they belong to the long-running
// container; the compose CLI clears them, the library does not) and without
// waiting on one-shot services (a `manage migrate down` must not first run
// the migrate service), plus the services it still depends on (the
// database).
func oneOffProject(p *types.Project, service string) (*types.Project, error) {
	svc, ok := p.Services[service]
	if !ok {
		return nil, fmt.Errorf("compose.yaml has no %s service; restore it from the project template", service)
	}
	svc.Ports = nil
	for dep, d := range svc.DependsOn {
		if d.Condition == types.ServiceConditionCompletedSuccessfully {
			delete(svc.DependsOn, dep)
		}
	}
	p.Services[service] = svc
	return p.WithSelectedServices([]string{service})
}

func sortedServiceNames(p *types.Project) []string {
	names := p.ServiceNames()
	slices.Sort(names)
	return names
}

// consumer adapts a docker.LogSink to compose's log consumer.
type consumer struct {
	sink docker.LogSink
}

func (c *consumer) Log(name, msg string)  { c.emit(name, msg) }
func (c *consumer) Err(name, msg string)  { c.emit(name, msg) }
func (c *consumer) Status(string, string) {}

func (c *consumer) emit(name, msg string) {
	for _, line := range strings.Split(strings.TrimRight(msg, "\r\n"), "\n") {
		c.sink.Line(name, strings.TrimRight(line, "\r"))
	}
}

// lineCollector is a docker.LogSink keeping the lines in memory.
type lineCollector struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineCollector) Line(_, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// progressBus turns compose's task events into progress lines.
type progressBus struct {
	report func(string)
	mu     sync.Mutex
	last   map[string]string
}

func (b *progressBus) Start(context.Context, string) {}
func (b *progressBus) Done(string, bool)             {}

func (b *progressBus) On(events ...api.Resource) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		b.last = map[string]string{}
	}
	for _, e := range events {
		if e.Status == api.Working || b.last[e.ID] == e.Text {
			continue
		}
		b.last[e.ID] = e.Text
		line := e.ID + " " + strings.ToLower(e.Text)
		if e.Details != "" {
			line += ": " + e.Details
		}
		b.report(line)
	}
}
