package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/internal/pgcluster"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// cluster describes the private cluster from the configuration.
func (a *app) cluster() (*pgcluster.Cluster, error) {
	opts := []pgcluster.Option{pgcluster.WithPort(a.cfg.Database.Port), pgcluster.WithLogger(a.log),
		pgcluster.WithSharedBuffers(a.cfg.Database.SharedBuffers)}
	if a.cfg.Database.BinDir != "" {
		opts = append(opts, pgcluster.WithBinDir(a.cfg.Database.BinDir))
	}
	return pgcluster.New(a.cfg.ClusterDir(), opts...)
}

// databaseURL returns VITRINE_DATABASE_URL, or starts the private cluster
// (idempotently) and returns its URL.
func (a *app) databaseURL(ctx context.Context) (string, error) {
	if a.cfg.Database.URL != "" {
		return a.cfg.Database.URL, nil
	}
	c, err := a.cluster()
	if err != nil {
		return "", err
	}
	if err := c.Start(ctx); err != nil {
		return "", err
	}
	return c.URL("")
}

// openStore connects, applying pending migrations first so every command
// finds the schema it expects.
func (a *app) openStore(ctx context.Context) (*store.Store, error) {
	u, err := a.databaseURL(ctx)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, u, store.WithMigrate(), store.WithLogger(a.log), store.WithMaxConns(a.cfg.Database.MaxConns), store.WithIndexBuildMemory(a.cfg.Database.IndexBuildMemory),
		store.WithHNSWGraph(a.cfg.Database.HNSWM, a.cfg.Database.HNSWEfConstruction))
}

// withStore runs fn on the migrated store and closes it.
func (a *app) withStore(ctx context.Context, fn func(*store.Store) error) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

func newDBCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the database: the private PostgreSQL cluster and the schema",
		Long: `Manage the database.

Without VITRINE_DATABASE_URL, Vitrine runs a private PostgreSQL cluster under
.vitrine/pg (see 'vitrine config'): initialised on first use, listening on a
unix socket in that directory and on 127.0.0.1 at database.port (54329 by
default), password (SCRAM) authentication only. With VITRINE_DATABASE_URL set,
start and stop do nothing and the other subcommands use that database, which
must be PostgreSQL 15 or newer with the pgvector extension available.`,
	}
	cmd.AddCommand(newDBStartCmd(a), newDBStopCmd(a), newDBStatusCmd(a), newDBURLCmd(a), newDBMigrateCmd(a), newDBPsqlCmd(a))
	return cmd
}

// privateCluster is the private cluster; when VITRINE_DATABASE_URL names
// another database it prints ifURL instead and returns nil.
func (a *app) privateCluster(cmd *cobra.Command, ifURL string) (*pgcluster.Cluster, error) {
	if a.cfg.Database.URL != "" {
		fmt.Fprintln(cmd.OutOrStdout(), ifURL)
		return nil, nil
	}
	return a.cluster()
}

// clusterCmd is a command that acts on the private cluster, or only says
// ifURL when VITRINE_DATABASE_URL names another database.
func clusterCmd(a *app, use, short, ifURL string, act func(*cobra.Command, *pgcluster.Cluster) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.privateCluster(cmd, ifURL)
			if c == nil || err != nil {
				return err
			}
			return act(cmd, c)
		},
	}
}

// newDBStartCmd starts the private cluster.
func newDBStartCmd(a *app) *cobra.Command {
	return clusterCmd(a, "start", "Start the private cluster (initialising it on first use); idempotent",
		"VITRINE_DATABASE_URL is set: using that database, nothing to start", func(cmd *cobra.Command, c *pgcluster.Cluster) error {
			if err := c.Start(cmd.Context()); err != nil {
				return err
			}
			_, err := printStatus(cmd, c)
			return err
		})
}

// newDBStopCmd stops the private cluster.
func newDBStopCmd(a *app) *cobra.Command {
	return clusterCmd(a, "stop", "Stop the private cluster cleanly", "VITRINE_DATABASE_URL is set: nothing to stop",
		func(cmd *cobra.Command, c *pgcluster.Cluster) error {
			if err := c.Stop(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "stopped")
			return nil
		})
}

// newDBStatusCmd reports the cluster, server, pgvector and schema versions.
func newDBStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Say what runs where: cluster, server and pgvector versions, schema version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if a.cfg.Database.URL == "" {
				c, err := a.cluster()
				if err != nil {
					return err
				}
				if st, err := printStatus(cmd, c); err != nil || !st.Running {
					return err
				}
			}
			u, err := a.databaseURL(ctx)
			if err != nil {
				return err
			}
			s, err := store.Open(ctx, u)
			if errors.Is(err, records.ErrNoPgvector) {
				fmt.Fprintln(out, "schema:     not migrated (run `vitrine db migrate`)")
				return nil
			}
			if err != nil {
				return err
			}
			defer s.Close()
			info, err := s.Info(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "server:     PostgreSQL %s\npgvector:   %s\nschema:     version %d\n", info.ServerVersion, info.PgvectorVersion, info.SchemaVersion)
			return nil
		},
	}
}

// newDBURLCmd prints the connection URL.
func newDBURLCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "url",
		Short: "Print the connection URL (it contains the password: keep it private)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.privateCluster(cmd, a.cfg.Database.URL)
			if c == nil || err != nil {
				return err
			}
			u, err := c.URL("")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), u)
			return nil
		},
	}
}

// newDBMigrateCmd applies pending migrations.
func newDBMigrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending schema migrations (starting the private cluster if needed); idempotent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := a.databaseURL(cmd.Context())
			if err != nil {
				return err
			}
			res, err := store.Migrate(cmd.Context(), u, a.log)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, r := range res {
				fmt.Fprintf(out, "applied %05d %s\n", r.Version, r.Source)
			}
			if len(res) == 0 {
				fmt.Fprintln(out, "schema up to date")
			}
			return nil
		},
	}
}

// newDBPsqlCmd opens psql on the database.
func newDBPsqlCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:                "psql [-- PSQL-ARGS...]",
		Short:              "Open psql on Vitrine's database (extra arguments go to psql)",
		DisableFlagParsing: false,
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := a.databaseURL(cmd.Context())
			if err != nil {
				return err
			}
			bin, err := exec.LookPath("psql")
			if err != nil {
				return fmt.Errorf("psql not found on PATH (apt-get install postgresql-client): %w", err)
			}
			// Replace this process so psql owns the terminal and signals.
			return syscall.Exec(bin, append([]string{"psql", u}, args...), os.Environ())
		},
	}
}

// printStatus prints the private cluster's status and returns it.
func printStatus(cmd *cobra.Command, c *pgcluster.Cluster) (pgcluster.Status, error) {
	st, err := c.Status(cmd.Context())
	if err != nil {
		return st, err
	}
	return st, st.Text(cmd.OutOrStdout())
}
