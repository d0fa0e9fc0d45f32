package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/internal/cli"
	"github.com/vitrinehq/vitrine/store"
)

func newVectorsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vectors",
		Short: "List, activate and drop vector-space versions",
		Long: `A vector space is one version of the fused product vectors: its models,
fusion strategy, weights and dimension. Exactly one is active and serves
queries; 'vitrine backfill' builds new ones beside it. Activation switches
every reader at once, in one transaction.`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List vector spaces with their state, size and fusion",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				spaces, err := st.ListSpaces(cmd.Context())
				if err != nil {
					return err
				}
				return cli.Spaces(cmd.OutOrStdout(), spaces)
			})
		},
	}
	activate := spaceVersionCmd(a, "activate VERSION", "Make a vector space the one that serves queries (atomic switch)",
		(*store.Store).ActivateSpace, "vector space %d is active\n")
	drop := spaceVersionCmd(a, "drop VERSION", "Delete a vector space that is not active, with its vectors and index",
		(*store.Store).DropSpace, "vector space %d dropped\n")
	cmd.AddCommand(list, activate, drop)
	return cmd
}

// spaceVersionCmd is a command that applies act to one space version.
func spaceVersionCmd(a *app, use, short string, act func(*store.Store, context.Context, int) error, done string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := strconv.Atoi(args[0])
			if err != nil {
				return fmt.Errorf("VERSION %q is not a number", args[0])
			}
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				if err := act(st, cmd.Context(), v); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), done, v)
				return nil
			})
		},
	}
}
