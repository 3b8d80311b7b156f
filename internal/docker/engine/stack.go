package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"

	"github.com/quickscale/quickscale/internal/docker"
)

// load reads the stack's compose.yaml the way `docker compose` would, with
// s.Env above the process environment and .env, and adapts it for
// quickscale: the app image is built by quickscale, never by compose nor
// pulled, and every resource carries the project label.
func (c *Compose) load(ctx context.Context, s docker.Stack) (*types.Project, error) {
	var env []string
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	p, err := c.svc.LoadProject(ctx, api.ProjectLoadOptions{
		ProjectName: s.Name,
		WorkingDir:  s.Dir,
		ConfigPaths: []string{filepath.Join(s.Dir, docker.ComposeFile)},
		// Remote includes (git, OCI) would reach the network from a file the
		// project controls; a generated project never has any.
		Offline:           true,
		ProjectOptionsFns: []cli.ProjectOptionsFn{cli.WithEnv(env)},
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w; fix the file (quickscale init wrote a working one)", filepath.Join(s.Dir, docker.ComposeFile), err)
	}
	return prepare(p), nil
}

// prepare adapts a loaded project; see load.
func prepare(p *types.Project) *types.Project {
	built := map[string]bool{}
	for _, svc := range p.Services {
		if svc.Build != nil && svc.Image != "" {
			built[svc.Image] = true
		}
	}
	for name, svc := range p.Services {
		if svc.Build != nil || built[svc.Image] {
			// compose would otherwise rebuild on every up (pull_policy:
			// build) or try a registry for the image quickscale builds.
			svc.Build = nil
			svc.PullPolicy = types.PullPolicyNever
		}
		svc.CustomLabels = svc.CustomLabels.Add(docker.ProjectLabel, p.Name)
		p.Services[name] = svc
	}
	// CustomLabels, unlike Labels, stay out of compose's configuration hash,
	// so resources made by a plain `docker compose` are not seen as diverged.
	for name, v := range p.Volumes {
		v.CustomLabels = v.CustomLabels.Add(docker.ProjectLabel, p.Name)
		p.Volumes[name] = v
	}
	for name, n := range p.Networks {
		n.CustomLabels = n.CustomLabels.Add(docker.ProjectLabel, p.Name)
		p.Networks[name] = n
	}
	return p
}

// oneShots returns the services others wait on to complete (migrate): for
// them, having exited with code 0 is success.
func oneShots(p *types.Project) map[string]bool {
	out := map[string]bool{}
	for _, svc := range p.Services {
		for dep, d := range svc.DependsOn {
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				out[dep] = true
			}
		}
	}
	return out
}
