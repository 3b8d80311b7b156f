// Package appbuild turns a generated project into its container image: it
// compiles the app on the host (fast, with Go's own build cache), then
// builds a FROM scratch image around the binary through the Engine API,
// with no registry, naming the image by its content so that an unchanged
// tree is never built twice.
package appbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker"
)

// KeepImages is how many of a project's images survive a build: a few to
// go back to, not every build ever made.
const KeepImages = 3

// keepLogs is how many build logs stay in .quickscale/logs.
const keepLogs = 10

// StateDir is quickscale's per-project working directory, at the project
// root (git-ignored by the generated .gitignore).
const StateDir = ".quickscale"

// Builder builds one project's image.
type Builder struct {
	Engine docker.Engine
	Root   string // project root
	Name   string // project name: the image is <Name>-app
	// Step reports progress, one short phrase per step.
	Step func(string)
	// Now stamps log file names; time.Now when nil.
	Now func() time.Time
	// Go is the go command; "go" from PATH when empty.
	Go string
}

// Options tune one build.
type Options struct {
	// NoCache recompiles every package and rebuilds the image from
	// scratch, even when an image with the same content exists.
	NoCache bool
}

// Result describes a finished build.
type Result struct {
	Image   string // <name>-app:<content tag>, what compose runs
	Built   bool   // false when an image with this content already existed
	LogPath string
	Size    int64 // image binary size in bytes
	Pruned  []string
}

// CompileError reports a project that does not compile.
type CompileError struct {
	First   []string // the first compiler error lines
	LogPath string
	Err     error
}

func (e *CompileError) Error() string {
	var b strings.Builder
	b.WriteString("the app does not compile; fix these errors and build again")
	for _, l := range e.First {
		b.WriteString("\n  " + l)
	}
	fmt.Fprintf(&b, "\nfull output: %s", e.LogPath)
	return b.String()
}

func (e *CompileError) Unwrap() error { return e.Err }

// ImageRepository is the image name of a project's app.
func ImageRepository(project string) string { return project + "-app" }

// LogDir is where a project's build logs go.
func LogDir(root string) string { return filepath.Join(root, StateDir, "logs") }

// LatestLog returns the newest build log of a project.
func LatestLog(root string) (string, error) {
	logs, err := filepath.Glob(filepath.Join(LogDir(root), "build-*.log"))
	if err != nil {
		return "", err
	}
	if len(logs) == 0 {
		return "", fmt.Errorf("no build log in %s yet; run `quickscale build` first", LogDir(root))
	}
	slices.Sort(logs) // names carry a sortable time stamp
	return logs[len(logs)-1], nil
}

// Build compiles the app and makes sure its image exists.
func (b *Builder) Build(ctx context.Context, opts Options) (res Result, err error) {
	step := b.Step
	if step == nil {
		step = func(string) {}
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	logDir := LogDir(b.Root)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return res, fmt.Errorf("create the build log directory: %w", err)
	}
	res.LogPath = filepath.Join(logDir, "build-"+now().UTC().Format("20060102T150405.000Z")+".log")
	logFile, err := os.Create(res.LogPath)
	if err != nil {
		return res, fmt.Errorf("create the build log: %w", err)
	}
	defer func() {
		if cerr := logFile.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("write the build log: %w", cerr)
		}
		pruneLogs(logDir, keepLogs)
	}()

	dockerfile, err := os.ReadFile(filepath.Join(b.Root, "Dockerfile"))
	if err != nil {
		return res, fmt.Errorf("read the project's Dockerfile: %w; restore it from version control or the project template", err)
	}

	step("compiling the app")
	binary := filepath.Join(b.Root, StateDir, "build", "app")
	if err := b.compile(ctx, binary, opts, logFile, res.LogPath); err != nil {
		return res, err
	}
	sum, err := FileSHA256(binary)
	if err != nil {
		return res, fmt.Errorf("hash the app binary: %w", err)
	}
	if info, err := os.Stat(binary); err == nil {
		res.Size = info.Size()
	}
	hash := ContentHash(sum, dockerfile)
	repo := ImageRepository(b.Name)
	res.Image = repo + ":" + hash[:12]

	if !opts.NoCache {
		exists, err := b.Engine.ImageExists(ctx, res.Image)
		if err != nil {
			return res, err
		}
		if exists {
			fmt.Fprintf(logFile, "image %s is up to date\n", res.Image)
			return res, nil
		}
	}

	step("building image " + res.Image)
	fmt.Fprintf(logFile, "\n$ build image %s\n", res.Image)
	tags := []string{res.Image, repo + ":latest"}
	var built bool
	var buildErr error
	if base, ok := splitDockerfile(dockerfile); ok && !opts.NoCache {
		built, buildErr = b.layerOnBase(ctx, base, binary, tags, logFile)
		if buildErr != nil && ctx.Err() == nil {
			// The whole build makes the same image, only slower, and reports
			// a Dockerfile's own error in the builder's words.
			fmt.Fprintf(logFile, "adding the binary's layer to the base image failed: %v\nbuilding the whole Dockerfile instead\n", buildErr)
			built, buildErr = false, nil
		}
	}
	if buildErr == nil && !built {
		buildErr = b.buildImage(ctx, tags, dockerfile, binary, opts.NoCache, logFile)
	}
	if err := buildErr; err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("build interrupted; no image was tagged: %w", ctx.Err())
		}
		return res, fmt.Errorf("%w; full output: %s", err, res.LogPath)
	}
	res.Built = true

	res.Pruned, err = b.Engine.PruneImages(ctx, b.Name, KeepImages)
	if err != nil {
		// The new image is fine; an old one left behind is only disk space.
		fmt.Fprintf(logFile, "pruning old images: %v\n", err)
	}
	return res, nil
}

// compile builds the static linux binary for the engine's architecture.
func (b *Builder) compile(ctx context.Context, binary string, opts Options, log io.Writer, logPath string) error {
	goCmd := b.Go
	if goCmd == "" {
		goCmd = "go"
	}
	ldflags := "-s -w"
	if v := gitVersion(ctx, b.Root); v != "" {
		ldflags += " -X main.version=" + v
	}
	// The version comes from git describe above; -buildvcs=false spares the
	// go command its own git queries, a stamp nothing reads.
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", binary}
	if opts.NoCache {
		args = append(args, "-a")
	}
	args = append(args, "./cmd/"+b.Name)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = b.Root
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0",
		"GOOS=linux",
		"GOARCH="+b.Engine.Info().Arch,
		"GOTOOLCHAIN="+appcontract.GoToolchain,
	)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(log, &out)
	cmd.Stderr = cmd.Stdout
	fmt.Fprintf(log, "$ GOOS=linux GOARCH=%s CGO_ENABLED=0 GOTOOLCHAIN=%s %s %s\n", b.Engine.Info().Arch, appcontract.GoToolchain, goCmd, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("build interrupted: %w", ctx.Err())
		}
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return fmt.Errorf("run %s: %w; install Go or put it on PATH, then run `quickscale check`", goCmd, err)
		}
		return &CompileError{First: firstErrors(out.String(), 10), LogPath: logPath, Err: err}
	}
	return nil
}

// compilerLine matches "path/file.go:12:3: message".
var compilerLine = regexp.MustCompile(`^\S+\.go:\d+(:\d+)?: `)

// firstErrors picks the compiler's error lines out of go build's output,
// or its last lines when it failed some other way (a module error).
func firstErrors(output string, max int) []string {
	var picked, all []string
	for _, l := range strings.Split(output, "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		all = append(all, l)
		if compilerLine.MatchString(strings.TrimSpace(l)) && len(picked) < max {
			picked = append(picked, strings.TrimSpace(l))
		}
	}
	if len(picked) > 0 {
		return picked
	}
	if len(all) > max {
		all = all[len(all)-max:]
	}
	return all
}

// gitVersion describes the project's commit, or "" outside a git
// repository (the binary then reports its VCS stamp or "devel").
func gitVersion(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(string(out))
	if strings.ContainsAny(v, " '\"") {
		return ""
	}
	return v
}

// buildImage streams the context to the engine.
func (b *Builder) buildImage(ctx context.Context, tags []string, dockerfile []byte, binary string, noCache bool, log io.Writer) error {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(WriteContext(pw, dockerfile, binary))
	}()
	defer pr.Close()
	return b.Engine.BuildImage(ctx, docker.ImageBuild{
		Context: pr,
		Tags:    tags,
		Labels:  buildLabels(dockerfile, b.Name),
		NoCache: noCache,
		Output:  log,
	})
}

// buildLabels are the labels the build adds to the image. The project label
// normally comes from the Dockerfile's own LABEL line, which sits before the
// binary and is therefore cached: the classic builder turns each label
// passed with the build into one more step after the last instruction, a
// container created and committed on every build. Only a Dockerfile that
// lost its LABEL line needs it passed, or prune and destroy would not find
// the image.
func buildLabels(dockerfile []byte, project string) map[string]string {
	for line := range strings.Lines(string(dockerfile)) {
		fields := strings.Fields(line)
		if len(fields) > 1 && strings.EqualFold(fields[0], "LABEL") && strings.Contains(line, docker.ProjectLabel+"=") {
			return nil
		}
	}
	return map[string]string{docker.ProjectLabel: project}
}

// pruneLogs keeps the newest keep build logs.
func pruneLogs(dir string, keep int) {
	logs, err := filepath.Glob(filepath.Join(dir, "build-*.log"))
	if err != nil || len(logs) <= keep {
		return
	}
	slices.Sort(logs)
	for _, l := range logs[:len(logs)-keep] {
		_ = os.Remove(l)
	}
}
