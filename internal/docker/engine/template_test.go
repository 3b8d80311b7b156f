package engine_test

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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates"
)

// loadTemplate renders the skeleton's compose.yaml for a preset and loads
// it the way a plain `docker compose` does (compose-go needs no daemon).
func loadTemplate(t *testing.T, db, dotenv string, env ...string) *types.Project {
	t.Helper()
	src, err := fs.ReadFile(templates.Skeleton, "compose.yaml.tmpl")
	require.NoError(t, err)
	var buf bytes.Buffer
	tp := template.Must(template.New("compose").Option("missingkey=error").Parse(string(src)))
	require.NoError(t, tp.Execute(&buf, map[string]any{"Name": "my-app", "DB": db}))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithEnv(env), cli.WithEnvFiles(), cli.WithDotEnv)
	require.NoError(t, err)
	p, err := opts.LoadProject(context.Background())
	require.NoError(t, err, "compose-go rejects the %s compose.yaml:\n%s", db, buf.String())
	return p
}

const postgresEnv = "POSTGRES_USER=app\nPOSTGRES_PASSWORD=0123456789abcdef\nPOSTGRES_DB=app\n"

func TestComposeTemplateLoadsForEachPreset(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			p := loadTemplate(t, db, "APP_PORT=8123\n"+postgresEnv)
			assert.Equal(t, "my-app", p.Name, "project name %q", p.Name)
			app := p.Services["app"]
			assert.Equal(t, "my-app-app:latest", app.Image, "app image")
			assert.NotNil(t, app.Build, "app build")
			assert.Equal(t, types.PullPolicyBuild, app.PullPolicy, "app pull_policy")
			if assert.Len(t, app.Ports, 1, "app ports %+v, want 127.0.0.1:8123->8000", app.Ports) {
				assert.Equal(t, "127.0.0.1", app.Ports[0].HostIP, "app port's host address")
				assert.Equal(t, "8123", app.Ports[0].Published, "app port's published port")
				assert.Equal(t, uint32(8000), app.Ports[0].Target, "app port's target")
			}
			if assert.NotNil(t, app.HealthCheck, "app healthcheck") {
				assert.Equal(t, "CMD /app healthcheck", strings.Join(app.HealthCheck.Test, " "), "app healthcheck")
			}
			assert.Equal(t, types.ServiceConditionCompletedSuccessfully, app.DependsOn["migrate"].Condition, "app depends_on %+v, want migrate completed successfully", app.DependsOn)
			if base := app.Environment["BASE_URL"]; assert.NotNil(t, base, "BASE_URL") {
				assert.Equal(t, "http://localhost:8123", *base, "BASE_URL follows APP_PORT")
			}
			// The app drains requests for up to 20 s on SIGTERM; compose must
			// not kill it before.
			if assert.NotNil(t, app.StopGracePeriod, "app stop_grace_period") {
				assert.GreaterOrEqual(t, time.Duration(*app.StopGracePeriod), 25*time.Second, "app stop_grace_period")
			}
			migrate := p.Services["migrate"]
			assert.Equal(t, app.Image, migrate.Image, "migrate image")
			assert.Equal(t, "migrate up", strings.Join(migrate.Command, " "), "migrate command")
			url := *app.Environment["DATABASE_URL"]
			switch db {
			case "sqlite":
				assert.Equal(t, "sqlite:/data/app.db", url, "sqlite app: DATABASE_URL")
				if assert.Len(t, app.Volumes, 1, "sqlite app: volumes %+v", app.Volumes) {
					assert.Equal(t, "data", app.Volumes[0].Source, "sqlite app: volume source")
					assert.Equal(t, "/data", app.Volumes[0].Target, "sqlite app: volume target")
				}
				assert.Equal(t, "none", migrate.NetworkMode, "sqlite migrate network_mode %q, want none (it only opens a file)", migrate.NetworkMode)
			case "postgres":
				assert.Equal(t, "postgres://app:0123456789abcdef@db:5432/app?sslmode=disable", url, "postgres DATABASE_URL %q", url)
				dbSvc := p.Services["db"]
				assert.Equal(t, "postgres:17", dbSvc.Image, "db image")
				if assert.NotNil(t, dbSvc.HealthCheck, "db healthcheck") {
					assert.Contains(t, strings.Join(dbSvc.HealthCheck.Test, " "), "pg_isready", "db healthcheck")
				}
				if assert.Len(t, dbSvc.Volumes, 1, "db volumes %+v", dbSvc.Volumes) {
					assert.Equal(t, "/var/lib/postgresql/data", dbSvc.Volumes[0].Target, "db volume target")
				}
				assert.Equal(t, "", migrate.NetworkMode, "postgres migrate network_mode %q: it must reach the db service", migrate.NetworkMode)
				assert.Equal(t, types.ServiceConditionHealthy, migrate.DependsOn["db"].Condition, "migrate depends_on %+v, want db healthy", migrate.DependsOn)
			}
		})
	}
}

func TestComposeTemplateHonoursOverrides(t *testing.T) {
	p := loadTemplate(t, "postgres", "APP_PORT=8000\nPOSTGRES_IMAGE=local/postgres:15\n"+postgresEnv,
		"APP_IMAGE=my-app-app:0123456789ab", "APP_PORT=9000", "BASE_URL=http://localhost:9000")
	assert.Equal(t, "my-app-app:0123456789ab", p.Services["app"].Image, "APP_IMAGE ignored: app image")
	assert.Equal(t, "my-app-app:0123456789ab", p.Services["migrate"].Image, "APP_IMAGE ignored: migrate image")
	assert.Equal(t, "9000", p.Services["app"].Ports[0].Published, "APP_PORT from the environment should beat .env")
	assert.Equal(t, "local/postgres:15", p.Services["db"].Image, "POSTGRES_IMAGE ignored")
}

func TestComposeTemplateNamesMissingPostgresSettings(t *testing.T) {
	src, _ := fs.ReadFile(templates.Skeleton, "compose.yaml.tmpl")
	var buf bytes.Buffer
	template.Must(template.New("c").Parse(string(src))).Execute(&buf, map[string]any{"Name": "my-app", "DB": "postgres"})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), buf.Bytes(), 0o644)
	opts, _ := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")}, cli.WithWorkingDirectory(dir))
	_, err := opts.LoadProject(context.Background())
	if assert.Error(t, err, "load without POSTGRES_USER") {
		assert.Contains(t, err.Error(), "set POSTGRES_USER in .env", "load without POSTGRES_USER must name the fix")
	}
}
