package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/internal/cli"
	"github.com/vitrinehq/vitrine/internal/config"
)

// app is what every subcommand shares: the effective configuration and a
// logger, both resolved once in the root command's PersistentPreRunE.
type app struct {
	configPath string
	cfg        config.Config
	log        *slog.Logger
}

func newRootCmd() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:   "vitrine",
		Short: "Multimodal e-commerce search and recommendation on PostgreSQL + pgvector",
		Long: `Vitrine turns each product's text, images and audio into vectors with
pretrained encoders run by ONNX Runtime, fuses them into one product vector,
keeps everything in PostgreSQL with pgvector and serves search, ranking and
recommendations over REST.

Configuration comes from defaults, an optional YAML file (--config, or
./vitrine.yaml) and VITRINE_* environment variables; 'vitrine config' prints
the effective result. With no VITRINE_DATABASE_URL, Vitrine runs its own
private PostgreSQL cluster under .vitrine/pg.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(a.configPath, os.Environ)
			if err != nil {
				return err
			}
			a.cfg = cfg
			a.log = cli.Logger(cmd.ErrOrStderr(), cfg.Log)
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "YAML configuration file (default ./vitrine.yaml when present)")
	root.AddCommand(
		newConfigCmd(a),
		newDBCmd(a),
		newModelsCmd(a),
		newIngestCmd(a),
		newWorkerCmd(a),
		newVectorsCmd(a),
		newBackfillCmd(a),
		newServeCmd(a),
		newKeysCmd(a),
		newBenchCmd(a),
		newTrainCmd(a),
		newEvalCmd(a),
	)
	return root
}

func newConfigCmd(a *app) *cobra.Command {
	var showEnv bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (YAML) or, with --env, every variable that sets it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if showEnv {
				for _, kv := range config.Keys() {
					fmt.Fprintf(out, "%-28s %s\n", kv[0], kv[1])
				}
				return nil
			}
			b, err := a.cfg.YAML()
			if err != nil {
				return err
			}
			_, err = io.WriteString(out, strings.TrimRight(string(b), "\n")+"\n")
			return err
		},
	}
	cmd.Flags().BoolVar(&showEnv, "env", false, "list configuration keys and their environment variables")
	return cmd
}
