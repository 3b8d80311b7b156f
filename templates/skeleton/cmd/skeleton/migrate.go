package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
)

// migrateCommand runs `migrate up`, `migrate down` or `migrate status`.
func migrateCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "down" && args[0] != "status") {
		return usageError{"migrate needs exactly one of: up, down, status"}
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	db, err := database.Open(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := migrate.New(db)
	if err != nil {
		return err
	}

	switch args[0] {
	case "up":
		applied, err := m.Up(ctx)
		for _, mig := range applied {
			fmt.Fprintf(stdout, "applied  %04d_%s\n", mig.Version, mig.Name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema at version %d (%s)\n", m.Latest(), db.Dialect())
	case "down":
		reverted, err := m.Down(ctx)
		if err != nil {
			return err
		}
		if reverted == nil {
			fmt.Fprintln(stdout, "nothing to revert: no migration is applied")
			return nil
		}
		fmt.Fprintf(stdout, "reverted %04d_%s\n", reverted.Version, reverted.Name)
	case "status":
		states, err := m.Status(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
		for _, s := range states {
			applied := "pending"
			if s.Applied() {
				applied = s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%04d\t%s\t%s\n", s.Version, s.Name, applied)
		}
		return tw.Flush()
	}
	return nil
}
