package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/fusion"
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
			st, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			spaces, err := st.ListSpaces(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tSTATE\tDIM\tSTORAGE\tVECTORS\tCREATED\tFUSION")
			for _, s := range spaces {
				desc := string(s.Spec)
				if spec, err := fusion.ParseSpec(s.Spec); err == nil {
					desc = string(spec.Strategy)
					for _, c := range spec.Components {
						desc += fmt.Sprintf(" %s=%.2f", c.Model, c.Weight)
					}
				}
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d\t%s\t%s\n", s.Version, s.State, s.Dim, s.Storage, s.Vectors, s.CreatedAt.Format("2006-01-02 15:04"), desc)
			}
			return tw.Flush()
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
			st, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := act(st, cmd.Context(), v); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), done, v)
			return nil
		},
	}
}
