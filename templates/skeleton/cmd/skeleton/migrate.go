package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
)

func migrateCommand() *command {
	return &command{name: "migrate", summary: "Apply, revert or list the database migrations.", sub: []*command{
		{name: "up", summary: "Apply every pending database migration.", flags: noFlags(withMigrator(migrateUp))},
		{name: "down", summary: "Revert the most recent migration.", flags: noFlags(withMigrator(migrateDown))},
		{name: "status", summary: "List migrations and whether each is applied.", flags: noFlags(withMigrator(migrateStatus))},
	}}
}

// withMigrator opens the configured database for a migrate command. It
// needs the configuration and the database alone: the rest of the
// application may not match the schema yet.
func withMigrator(fn func(ctx context.Context, inv invocation, db *database.DB, m *migrate.Migrator) error) func(context.Context, invocation) error {
	return func(ctx context.Context, inv invocation) error {
		cfg, err := config.Load(inv.getenv)
		if err != nil {
			return err
		}
		db, err := database.Open(ctx, cfg.DatabaseURL.Reveal())
		if err != nil {
			return err
		}
		defer db.Close()
		m, err := migrate.New(db, inv.clock)
		if err != nil {
			return err
		}
		return fn(ctx, inv, db, m)
	}
}

func migrateUp(ctx context.Context, inv invocation, db *database.DB, m *migrate.Migrator) error {
	applied, err := m.Up(ctx)
	for _, mig := range applied {
		fmt.Fprintf(inv.stdout, "applied  %04d_%s\n", mig.Version, mig.Name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "schema at version %d (%s)\n", m.Latest(), db.Dialect())
	return nil
}

func migrateDown(ctx context.Context, inv invocation, _ *database.DB, m *migrate.Migrator) error {
	reverted, err := m.Down(ctx)
	if err != nil {
		return err
	}
	if reverted == nil {
		fmt.Fprintln(inv.stdout, "nothing to revert: no migration is applied")
		return nil
	}
	fmt.Fprintf(inv.stdout, "reverted %04d_%s\n", reverted.Version, reverted.Name)
	return nil
}

func migrateStatus(ctx context.Context, inv invocation, _ *database.DB, m *migrate.Migrator) error {
	states, err := m.Status(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(inv.stdout, 0, 4, 2, ' ', 0)
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
