package main

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/eval/labels"
	"github.com/vitrinehq/vitrine/eval/voice"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/speech"
)

type evalVoiceOpts struct {
	voices []string
	speeds []int
	snrs   []float64
	models []string
	noise  string
	args   string
	json   string
}

func newEvalVoiceCmd(a *app) *cobra.Command {
	var o evalVoiceOpts
	cmd := &cobra.Command{
		Use:   "voice",
		Short: "Word error rate and top-5 hits of voice search on spoken product names",
		Long: `Speak every ingested product's name (the last part of its category path,
"Oatly Oat Milk") with espeak-ng in each --voices voice at each --speeds
rate, clean and with --noise (Gaussian, or sox's white, pink or brown) at
each --snr (dB, relative to the speech's power). Transcribe each clip with
each of --models: catalog (as served: the catalog model alone, falling back
to mixed when what it heard is no path through the catalog's phrases),
catalog-only, mixed (the catalog model interpolated with the general one)
and general (PocketSphinx's US English model); the catalog model is built
from the database's titles, brands and categories, as serve builds it.
Search each clip's readings (voice.alternatives) as voice search does (k 5).
Print the word error rate, exact transcripts and queries whose product is
in the top 5, per model and condition (--json adds the misses). Audio goes
to a temporary directory.

espeak-ng's default voices are hardly recognisable to PocketSphinx's acoustic
model (a general-model transcript of "red bell pepper" is "and help you");
its Klatt voices are, so they are the default.`,
		Example: `  vitrine eval voice
  vitrine eval voice --voices en-us+klatt2 --speeds 170 --snr 10 --json voice.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.evalVoice(cmd.Context(), cmd.OutOrStdout(), o) },
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.voices, "voices", []string{"en-us+klatt", "en-us+klatt2", "en-us+klatt4"}, "espeak-ng voices")
	f.IntSliceVar(&o.speeds, "speeds", []int{150, 175}, "speaking rates, words per minute")
	f.Float64SliceVar(&o.snrs, "snr", []float64{10}, "noise conditions besides clean, dB SNR")
	f.StringSliceVar(&o.models, "models", []string{speech.Catalog, speech.CatalogOnly, speech.General}, "language models to compare: catalog, catalog-only, mixed, general")
	f.StringVar(&o.noise, "noise", "gaussian", "noise added at each --snr: gaussian (drawn here), or white, pink or brown (made by sox)")
	f.StringVar(&o.args, "search-args", "", `PocketSphinx arguments overriding the recogniser's (e.g. "-beam 1e-48 -wbeam 7e-29 -pbeam 1e-48", PocketSphinx's own beams)`)
	f.StringVar(&o.json, "json", "", "write the report as JSON to this file")
	return cmd
}

func (a *app) evalVoice(ctx context.Context, out io.Writer, o evalVoiceOpts) error {
	svc, err := a.openServices(ctx, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	served, stop, err := a.newServing(ctx, svc.st, svc.set)
	if err != nil {
		return err
	}
	defer stop()
	rec, err := speech.New(a.speechOptions(speech.WithSearchArgs(strings.Fields(o.args)...))...)
	if err != nil {
		return err
	}
	defer rec.Close()
	if _, err := rec.Sync(ctx, svc.st, -1); err != nil {
		return err
	}
	all, err := labels.Products(ctx, svc.st)
	if err != nil {
		return err
	}
	var ps []voice.Product
	for _, p := range all {
		if len(p.Category) > 0 {
			ps = append(ps, voice.Product{ID: p.ID, Name: p.Category[len(p.Category)-1]})
		}
	}
	if len(ps) == 0 {
		return errors.New("no ingested product has a category to speak")
	}
	dec, err := voice.WAVDecoder()
	if err != nil {
		return err
	}
	heard, err := serving.NewVoice(served, rec)
	if err != nil {
		return err
	}
	rep, err := voice.Run(ctx, rec, heard, dec, ps, voice.Config{Voices: o.voices, Speeds: o.speeds,
		SNRs: o.snrs, Models: o.models, Noise: o.noise, Seed: 1})
	if err != nil {
		return err
	}
	if err := rep.Text(out); err != nil {
		return err
	}
	return report.Write(o.json, "", rep, nil)
}
