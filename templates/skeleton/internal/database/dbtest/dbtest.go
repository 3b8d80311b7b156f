// Package dbtest gives tests a real, migrated database of either dialect.
//
// SQLite databases are files in t.TempDir(). PostgreSQL databases are
// created, one per test, on the server named by TEST_DATABASE_URL, or else
// on a throw-away server that dbtest starts once per test binary from the
// installed PostgreSQL binaries. When PostgreSQL cannot be had, its tests
// are skipped, unless REQUIRE_POSTGRES=1 makes that a failure.
//
// A package whose tests use PostgreSQL stops that server through TestMain:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
)

// Dialects lists every supported dialect, for table-driven tests.
var Dialects = []database.Dialect{database.SQLite, database.Postgres}

// Main runs the package's tests, then stops the PostgreSQL server if this
// test binary started one.
func Main(m *testing.M) {
	code := m.Run()
	server.stop()
	os.Exit(code)
}

// Open returns a fresh database of the dialect with every migration
// applied. It is closed and removed when the test ends.
func Open(t testing.TB, dialect database.Dialect) *database.DB {
	t.Helper()
	return OpenURL(t, URL(t, dialect))
}

// OpenURL opens the database at databaseURL, a URL from URL, and applies
// every migration: a second pool on one database is a second instance of
// the application. It is closed when the test ends.
func OpenURL(t testing.TB, databaseURL string) *database.DB {
	t.Helper()
	db := openPool(t, databaseURL)
	m, err := migrate.New(db, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatalf("migrate the test database: %v", err)
	}
	return db
}

// OpenEmpty returns a fresh database of the dialect with no tables.
func OpenEmpty(t testing.TB, dialect database.Dialect) *database.DB {
	t.Helper()
	return openPool(t, URL(t, dialect))
}

// openPool connects to databaseURL until the test ends.
func openPool(t testing.TB, databaseURL string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// URL returns the DATABASE_URL of a fresh, empty database of the dialect,
// removed when the test ends.
func URL(t testing.TB, dialect database.Dialect) string {
	t.Helper()
	switch dialect {
	case database.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	case database.Postgres:
		return server.createDatabase(t)
	}
	t.Fatalf("dbtest: unknown dialect %q", dialect)
	return ""
}

// server is the PostgreSQL server shared by the tests of one binary.
var server postgres

type postgres struct {
	once  sync.Once
	err   error
	admin *sql.DB
	base  *url.URL
	cmd   *exec.Cmd
	exit  chan error
	dir   string
}

const howToFix = "install PostgreSQL (Debian: apt-get install postgresql) so its server binaries are under /usr/lib/postgresql/*/bin, " +
	"or set TEST_DATABASE_URL=postgres://user:password@host:5432/postgres naming a server where that user may create databases"

func (p *postgres) createDatabase(t testing.TB) string {
	t.Helper()
	p.once.Do(p.start)
	if p.err != nil {
		if os.Getenv("REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL is required (REQUIRE_POSTGRES=1) but unavailable: %v\nTo fix: %s", p.err, howToFix)
		}
		t.Skipf("PostgreSQL unavailable, skipping (set REQUIRE_POSTGRES=1 to fail instead): %v", p.err)
	}
	name := "test_" + randomHex(8)
	ctx := context.Background()
	if _, err := p.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := p.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u := *p.base
	u.Path = "/" + name
	return u.String()
}

func (p *postgres) start() {
	if raw := os.Getenv("TEST_DATABASE_URL"); raw != "" {
		p.err = p.connect(raw)
		return
	}
	if p.err = p.startServer(); p.err != nil {
		p.stop()
	}
}

func (p *postgres) connect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("TEST_DATABASE_URL is not a valid postgres:// URL")
	}
	db, err := sql.Open("pgx", raw)
	if err != nil {
		return fmt.Errorf("open TEST_DATABASE_URL: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("connect to TEST_DATABASE_URL: %w", err)
	}
	p.admin, p.base = db, u
	return nil
}

// startServer runs initdb into a temporary directory and starts postgres
// on a free loopback port. PostgreSQL refuses to run as root, so as root it
// runs as the postgres user.
func (p *postgres) startServer() error {
	bin, err := findBinaries()
	if err != nil {
		return err
	}
	var cred *credential
	if os.Geteuid() == 0 {
		if cred, err = postgresUser(); err != nil {
			return err
		}
	}
	sweepStaleServers()
	p.dir, err = os.MkdirTemp("", dirPrefix)
	if err != nil {
		return fmt.Errorf("create a directory for PostgreSQL: %w", err)
	}
	if cred != nil {
		if err := os.Chown(p.dir, int(cred.uid), int(cred.gid)); err != nil {
			return fmt.Errorf("hand %s to the postgres user: %w", p.dir, err)
		}
	}
	data := filepath.Join(p.dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = sysProcAttr(cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(p.dir, "postgres.log"))
	if err != nil {
		return fmt.Errorf("create the PostgreSQL log: %w", err)
	}
	defer logFile.Close()
	// Durability settings are off: a test database is thrown away anyway.
	p.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300")
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = sysProcAttr(cred)
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	p.exit = make(chan error, 1)
	go func() { p.exit <- p.cmd.Wait() }()

	raw := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-p.exit:
			p.cmd = nil
			log, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
			return fmt.Errorf("postgres exited at start: %v\n%s", err, log)
		default:
		}
		if err := p.connect(raw); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within 30s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the server down (fast shutdown: SIGINT) and removes its files.
func (p *postgres) stop() {
	if p.admin != nil {
		p.admin.Close()
	}
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exit:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exit
		}
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

const dirPrefix = "dbtest-postgres-"

// sweepStaleServers removes the directories of servers whose test binary
// was killed before TestMain could clean up (the kernel stopped postgres;
// its files stayed). A directory is stale once postgres no longer runs in
// it (no postmaster.pid) and it is old enough not to be a server that
// another test binary is still setting up.
func sweepStaleServers() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		info, err := os.Stat(dir)
		if err != nil || time.Since(info.ModTime()) < 10*time.Minute {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(dir)
		}
	}
}

// findBinaries returns the directory of the newest installed initdb and
// postgres: Debian's /usr/lib/postgresql/<version>/bin, else $PATH.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil && isFile(filepath.Join(filepath.Dir(initdb), "postgres")) {
		return filepath.Dir(initdb), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql/*/bin or on $PATH, and TEST_DATABASE_URL is not set")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// credential is the user a child process runs as.
type credential struct{ uid, gid uint32 }

func postgresUser() (*credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user to run as: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &credential{uid: uint32(uid), gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return strings.ToLower(hex.EncodeToString(b))
}
