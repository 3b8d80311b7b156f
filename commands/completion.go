package commands

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// NewCmdCompletion builds `quickscale completion <shell>`.
func NewCmdCompletion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion <bash|zsh|fish|powershell>",
		Short: "Print a shell completion script",
		Long: `Print a script that makes your shell complete quickscale's commands and
flags when you press Tab. Install it once, then start a new shell.

bash (needs the bash-completion package):
  quickscale completion bash > ~/.local/share/bash-completion/completions/quickscale

zsh (the directory must be in $fpath before compinit runs in ~/.zshrc):
  quickscale completion zsh > "${fpath[1]}/_quickscale"

fish:
  quickscale completion fish > ~/.config/fish/completions/quickscale.fish

PowerShell (add the line to your $PROFILE to keep it):
  quickscale completion powershell | Out-String | Invoke-Expression`,
		Example: `  $ quickscale completion bash > ~/.local/share/bash-completion/completions/quickscale
  $ quickscale completion zsh > "${fpath[1]}/_quickscale"`,
		ValidArgs:   completionShells,
		Annotations: map[string]string{annotationNoConfig: "true"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains(completionShells, args[0]) {
				return FlagErrorf("name one shell: %s", strings.Join(completionShells, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), f.IOStreams.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}
