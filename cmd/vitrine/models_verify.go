package main

import (
	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/models/verify"
)

func newModelsVerifyCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "verify [NAME...]",
		Short: "Load each configured model (or the named ones) and encode one real input end to end",
		Long: `Verify loads each configured model (models.text, models.image and
models.audio; or the named models) through the same code the service uses,
and runs one input through its whole pipeline: the text "hello world", a
synthesised 300x200 PNG, or a synthesised one-second 440 Hz 16-bit WAV.

The vector must have the manifest's dimension and finite values, and unit
length when the manifest normalises with l2. One line per model gives its
modality, dimension, load time, encode time (the first run, warm-up
included) and OK or FAIL with the reason. The exit status is 1 when any
model fails.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			ctx := cmd.Context()
			ms, err := a.manifests()
			if err != nil {
				return err
			}
			todo, err := verify.Targets(ms, names, a.cfg.Models.Manifests, []string{a.cfg.Models.Text, a.cfg.Models.Image, a.cfg.Models.Audio})
			if err != nil {
				return err
			}
			rt, err := a.runtime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			o := extractors.Options{MaxBatch: a.cfg.ORT.MaxBatch, MaxWait: a.cfg.ORT.MaxWait, QueueSize: a.cfg.ORT.QueueSize, Logger: a.log}
			return verify.All(ctx, cmd.OutOrStdout(), rt, todo, a.cfg.ModelDir(), o)
		},
	}
}
