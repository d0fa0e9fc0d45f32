package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vitrinehq/vitrine/internal/cli"
	"github.com/vitrinehq/vitrine/store"
)

func newKeysCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke API keys",
		Long: `API keys authenticate REST calls. Only a SHA-256 of each key's secret is
stored; the key itself is printed once, at creation. Scopes: read (queries),
write (also products, events and user erasure), admin (everything).`,
	}
	cmd.AddCommand(newKeysCreateCmd(a), newKeysListCmd(a), newKeysRevokeCmd(a))
	return cmd
}

// newKeysCreateCmd creates a key and prints its token once.
func newKeysCreateCmd(a *app) *cobra.Command {
	var name, scopes string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a key and print it once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				k, token, err := st.CreateAPIKey(cmd.Context(), name, cli.ParseScopes(scopes))
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "created key %s (%s) with scopes %v; store it now, it is not shown again:\n", k.ID, k.Name, k.Scopes)
				fmt.Fprintln(cmd.OutOrStdout(), token)
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "a label for the key")
	create.Flags().StringVar(&scopes, "scopes", "read", "comma-separated scopes: read, write, admin")
	return create
}

// newKeysListCmd lists the keys, never their secrets.
func newKeysListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				keys, err := st.ListAPIKeys(cmd.Context())
				if err != nil {
					return err
				}
				return cli.Keys(cmd.OutOrStdout(), keys)
			})
		},
	}
}

// newKeysRevokeCmd revokes a key.
func newKeysRevokeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				if err := st.RevokeAPIKey(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "key %s revoked\n", args[0])
				return nil
			})
		},
	}
}
