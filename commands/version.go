package commands

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/buildinfo"
)

// NewCmdVersion builds `quickscale version`, which prints the same text as
// `quickscale --version`.
func NewCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of quickscale",
		Long: `Print the version of quickscale, the commit it was built from and the Go
toolchain that built it. Include this output in bug reports.`,
		Example: `  $ quickscale version
  $ quickscale --version`,
		Args:        noArgs,
		Annotations: map[string]string{annotationNoConfig: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(f.IOStreams.Out, versionText(f.Build))
			return err
		},
	}
}

// versionText is the output of both `version` and `--version`.
func versionText(info buildinfo.Info) string {
	var b strings.Builder
	fmt.Fprintf(&b, "quickscale %s\n", info.Version)
	commit := info.ShortCommit()
	if commit == "" {
		commit = "unknown"
	}
	if info.Modified {
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(&b, "commit: %s\n", commit)
	fmt.Fprintf(&b, "built with: %s %s\n", info.GoVersion, info.Platform)
	return b.String()
}
