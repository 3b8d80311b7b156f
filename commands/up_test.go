package commands

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUpKeepsBaseURLOnThePublishedPort(t *testing.T) {
	tests := []struct {
		name    string
		dotenv  string
		environ map[string]string
		flag    int
		want    map[string]string
		port    int
	}{
		{"flag moves the local BASE_URL along",
			"APP_PORT=8000\nBASE_URL=http://localhost:8000\n", nil, 8080,
			map[string]string{"APP_PORT": "8080", "BASE_URL": "http://localhost:8080"}, 8080},
		{"scheme, address and path survive",
			"BASE_URL=https://127.0.0.1:8000/app/\n", nil, 9443,
			map[string]string{"APP_PORT": "9443", "BASE_URL": "https://127.0.0.1:9443/app/"}, 9443},
		{"APP_PORT from the environment wins over .env, and BASE_URL follows",
			"APP_PORT=8000\nBASE_URL=http://localhost:8000\n", map[string]string{"APP_PORT": "8123"}, 0,
			map[string]string{"BASE_URL": "http://localhost:8123"}, 8123},
		{"APP_PORT changed in .env alone",
			"APP_PORT=9000\nBASE_URL=http://localhost:8000\n", nil, 0,
			map[string]string{"BASE_URL": "http://localhost:9000"}, 9000},
		{"already consistent: nothing to override",
			"APP_PORT=8123\nBASE_URL=http://localhost:8123\n", nil, 0,
			map[string]string{}, 8123},
		{"no BASE_URL: compose.yaml's default follows APP_PORT",
			"APP_PORT=8000\n", nil, 8080,
			map[string]string{"APP_PORT": "8080"}, 8080},
		{"another host is the user's choice",
			"BASE_URL=https://dev.example.test\n", nil, 8080,
			map[string]string{"APP_PORT": "8080"}, 8080},
		{"BASE_URL from the environment is honoured like compose does",
			"BASE_URL=http://localhost:8000\n", map[string]string{"BASE_URL": "http://localhost:7000"}, 8080,
			map[string]string{"APP_PORT": "8080", "BASE_URL": "http://localhost:8080"}, 8080},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, wd := inProject(t)
			t.Setenv("APP_PORT", "")
			t.Setenv("BASE_URL", "")
			for k, v := range tt.environ {
				t.Setenv(k, v)
			}
			writeFile(t, filepath.Join(root, ".env"), tt.dotenv)
			p, err := newTestEnv(t, false).in(wd).f.Project()
			require.NoError(t, err)
			env, port, err := p.upEnv(tt.flag)
			require.NoError(t, err)
			assert.Equal(t, tt.want, env, "upEnv(%d)'s environment", tt.flag)
			assert.Equal(t, tt.port, port, "upEnv(%d)'s port", tt.flag)
		})
	}
}
