package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// setUpGit commits the new project to a new git repository. git trouble
// never fails init: the project is already written, so each problem becomes
// a warning that says how to finish by hand. Only a cancelled ctx is
// returned, as a CancelError.
func setUpGit(ctx context.Context, opts *InitOptions, target string) error {
	ios := opts.IO
	cs := ios.ErrColorScheme()
	message := "Initial commit from quickscale " + opts.Build.Version
	cd := "cd " + shellQuote(projectPath(opts))
	commitCmd := "git add -A && git commit -m " + shellQuote(message)
	warn := func(why, fix string) error {
		if ctx.Err() != nil {
			return &CancelError{Message: fmt.Sprintf("Cancelled while setting up git; the project is in %s, but its git repository may be incomplete.", target)}
		}
		fmt.Fprintf(ios.ErrOut, "%s %s; %s\n", cs.WarningIcon(), why, fix)
		return nil
	}

	gitPath, err := exec.LookPath("git")
	if err != nil {
		return warn("git was not found on your PATH, so the project is not in a git repository",
			"install git, then run: "+cd+" && git init && "+commitCmd)
	}
	git := func(args ...string) (string, error) {
		ios.Debugf("running git %s in %s", strings.Join(args, " "), target)
		cmd := exec.CommandContext(ctx, gitPath, args...)
		cmd.Dir = target
		cmd.Env = gitEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return stdout.String(), fmt.Errorf("git %s failed: %s", args[0], lastLine(stderr.String(), err))
		}
		return stdout.String(), nil
	}

	if _, err := git("init", "--quiet"); err != nil {
		return warn(err.Error(), "run by hand: "+cd+" && git init && "+commitCmd)
	}
	// The identity is read inside the new repository, so that includeIf
	// rules keyed on the directory (a work e-mail under ~/work) apply.
	if missing := missingGitIdentity(git); len(missing) > 0 {
		return warn(
			fmt.Sprintf("created a git repository but made no commit: git does not know your %s", strings.Join(missing, " and ")),
			`tell it with git config --global user.name "Your Name" and git config --global user.email you@example.com, then run: `+cd+" && "+commitCmd)
	}
	if _, err := git("add", "-A"); err != nil {
		return warn(err.Error(), "run by hand: "+cd+" && "+commitCmd)
	}
	if _, err := git("commit", "--quiet", "-m", message); err != nil {
		return warn(err.Error(), "run by hand: "+cd+" && "+commitCmd)
	}
	fmt.Fprintf(ios.Out, "%s Committed it to a new git repository\n", ios.ColorScheme().SuccessIcon())
	return nil
}

// gitEnv is the environment without the variables that point git at another
// repository: set by a git hook or an IDE, they would make git init and
// commit act on that repository instead of the new project.
func gitEnv() []string {
	env := os.Environ()
	return slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX":
			return true
		}
		return false
	})
}

// missingGitIdentity returns which of user.name and user.email git cannot
// find, in its config or in the variables that override it.
func missingGitIdentity(git func(...string) (string, error)) []string {
	var missing []string
	for _, id := range []struct {
		key  string
		envs []string
	}{
		{"user.name", []string{"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"}},
		{"user.email", []string{"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"}},
	} {
		if value, err := git("config", "--get", id.key); err == nil && strings.TrimSpace(value) != "" {
			continue
		}
		if os.Getenv(id.envs[0]) != "" && os.Getenv(id.envs[1]) != "" {
			continue
		}
		missing = append(missing, id.key)
	}
	return missing
}

// lastLine returns the last non-empty line of a tool's stderr, which is
// where git puts its reason, or err when there is none.
func lastLine(stderr string, err error) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return last
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.String()
	}
	return err.Error()
}
