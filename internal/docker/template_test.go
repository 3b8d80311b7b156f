package docker_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/quickscale/quickscale/templates"
)

// loadTemplate renders the skeleton's compose.yaml for a preset and loads
// it the way a plain `docker compose` does (compose-go needs no daemon).
func loadTemplate(t *testing.T, db, dotenv string, env ...string) *types.Project {
	t.Helper()
	src, err := fs.ReadFile(templates.Skeleton, "compose.yaml.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tp := template.Must(template.New("compose").Option("missingkey=error").Parse(string(src)))
	if err := tp.Execute(&buf, map[string]any{"Name": "my-app", "DB": db}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithEnv(env), cli.WithEnvFiles(), cli.WithDotEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose-go rejects the %s compose.yaml: %v\n%s", db, err, buf.String())
	}
	return p
}

const postgresEnv = "POSTGRES_USER=app\nPOSTGRES_PASSWORD=0123456789abcdef\nPOSTGRES_DB=app\n"

func TestComposeTemplateLoadsForEachPreset(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			p := loadTemplate(t, db, "APP_PORT=8123\n"+postgresEnv)
			if p.Name != "my-app" {
				t.Errorf("project name %q", p.Name)
			}
			app := p.Services["app"]
			if app.Image != "my-app-app:latest" || app.Build == nil || app.PullPolicy != types.PullPolicyBuild {
				t.Errorf("app image %q build %v pull_policy %q", app.Image, app.Build, app.PullPolicy)
			}
			if len(app.Ports) != 1 || app.Ports[0].HostIP != "127.0.0.1" || app.Ports[0].Published != "8123" || app.Ports[0].Target != 8000 {
				t.Errorf("app ports %+v, want 127.0.0.1:8123->8000", app.Ports)
			}
			if app.HealthCheck == nil || strings.Join(app.HealthCheck.Test, " ") != "CMD /app healthcheck" {
				t.Errorf("app healthcheck %+v", app.HealthCheck)
			}
			if app.DependsOn["migrate"].Condition != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("app depends_on %+v, want migrate completed successfully", app.DependsOn)
			}
			if base := app.Environment["BASE_URL"]; base == nil || *base != "http://localhost:8123" {
				t.Errorf("BASE_URL follows APP_PORT: got %v", base)
			}
			// The app drains requests for up to 20 s on SIGTERM; compose must
			// not kill it before.
			if app.StopGracePeriod == nil || time.Duration(*app.StopGracePeriod) < 25*time.Second {
				t.Errorf("app stop_grace_period %v, want at least 25s", app.StopGracePeriod)
			}
			migrate := p.Services["migrate"]
			if migrate.Image != app.Image || strings.Join(migrate.Command, " ") != "migrate up" {
				t.Errorf("migrate image %q command %q", migrate.Image, migrate.Command)
			}
			url := *app.Environment["DATABASE_URL"]
			switch db {
			case "sqlite":
				if url != "sqlite:/data/app.db" || len(app.Volumes) != 1 || app.Volumes[0].Source != "data" || app.Volumes[0].Target != "/data" {
					t.Errorf("sqlite app: DATABASE_URL %q volumes %+v", url, app.Volumes)
				}
				if migrate.NetworkMode != "none" {
					t.Errorf("sqlite migrate network_mode %q, want none (it only opens a file)", migrate.NetworkMode)
				}
			case "postgres":
				if url != "postgres://app:0123456789abcdef@db:5432/app?sslmode=disable" {
					t.Errorf("postgres DATABASE_URL %q", url)
				}
				dbSvc := p.Services["db"]
				if dbSvc.Image != "postgres:17" || dbSvc.HealthCheck == nil || !strings.Contains(strings.Join(dbSvc.HealthCheck.Test, " "), "pg_isready") {
					t.Errorf("db image %q healthcheck %+v", dbSvc.Image, dbSvc.HealthCheck)
				}
				if len(dbSvc.Volumes) != 1 || dbSvc.Volumes[0].Target != "/var/lib/postgresql/data" {
					t.Errorf("db volumes %+v", dbSvc.Volumes)
				}
				if migrate.NetworkMode != "" {
					t.Errorf("postgres migrate network_mode %q: it must reach the db service", migrate.NetworkMode)
				}
				if migrate.DependsOn["db"].Condition != types.ServiceConditionHealthy {
					t.Errorf("migrate depends_on %+v, want db healthy", migrate.DependsOn)
				}
			}
		})
	}
}

func TestComposeTemplateHonoursOverrides(t *testing.T) {
	p := loadTemplate(t, "postgres", "APP_PORT=8000\nPOSTGRES_IMAGE=local/postgres:15\n"+postgresEnv,
		"APP_IMAGE=my-app-app:0123456789ab", "APP_PORT=9000", "BASE_URL=http://localhost:9000")
	if got := p.Services["app"].Image; got != "my-app-app:0123456789ab" {
		t.Errorf("APP_IMAGE ignored: app image %q", got)
	}
	if got := p.Services["migrate"].Image; got != "my-app-app:0123456789ab" {
		t.Errorf("APP_IMAGE ignored: migrate image %q", got)
	}
	if got := p.Services["app"].Ports[0].Published; got != "9000" {
		t.Errorf("APP_PORT from the environment should beat .env: published %q", got)
	}
	if got := p.Services["db"].Image; got != "local/postgres:15" {
		t.Errorf("POSTGRES_IMAGE ignored: %q", got)
	}
}

func TestComposeTemplateNamesMissingPostgresSettings(t *testing.T) {
	src, _ := fs.ReadFile(templates.Skeleton, "compose.yaml.tmpl")
	var buf bytes.Buffer
	template.Must(template.New("c").Parse(string(src))).Execute(&buf, map[string]any{"Name": "my-app", "DB": "postgres"})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), buf.Bytes(), 0o644)
	opts, _ := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")}, cli.WithWorkingDirectory(dir))
	_, err := opts.LoadProject(context.Background())
	if err == nil || !strings.Contains(err.Error(), "set POSTGRES_USER in .env") {
		t.Errorf("load without POSTGRES_USER = %v, want the fix named", err)
	}
}
