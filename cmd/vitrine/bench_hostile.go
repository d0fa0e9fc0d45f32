package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/bench/hostile"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// benchHostileOptions are the flags of bench hostile.
type benchHostileOptions struct {
	catalog          string
	cfg              hostile.Config
	jsonOut, mdOut   string
	bombMiB, burstMB int
}

func newBenchHostileCmd(a *app) *cobra.Command {
	o := benchHostileOptions{cfg: hostile.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "hostile",
		Short: "Photo-search latency under decompression bombs, and memory after a burst of large uploads",
		Long: `Ingest the demo catalog (text and image models) into its own database
(vitrine_bench_hostile), start the API in this process on a loopback port
with the served configuration (no keys or rate limits), then:

1. time --searches photo searches of a normal 64x64 PNG, one at a time,
   while --bombers clients upload PNG bombs (64x64 declared, --bomb-mib of
   image data inflated); the goal is p99 <= 200 ms;
2. send --burst concurrent uploads of about --burst-mb MB each and sample
   this process's resident size until --settle after the burst; the goal
   is to end within 200 MiB of where it started.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.cfg.BombBytes, o.cfg.BurstBytes = o.bombMiB<<20, o.burstMB*1_000_000
			return a.runBenchHostile(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.catalog, "catalog", filepath.Join("demo", "grocery", "catalog.jsonl"), "catalog to ingest")
	f.IntVar(&o.cfg.Searches, "searches", o.cfg.Searches, "normal photo searches timed")
	f.IntVar(&o.cfg.Bombers, "bombers", o.cfg.Bombers, "clients uploading bombs meanwhile")
	f.IntVar(&o.bombMiB, "bomb-mib", o.cfg.BombBytes>>20, "inflated image data of each bomb, MiB")
	f.IntVar(&o.cfg.Burst, "burst", o.cfg.Burst, "concurrent large uploads")
	f.IntVar(&o.burstMB, "burst-mb", 10, "size of each large upload, MB")
	f.DurationVar(&o.cfg.Settle, "settle", o.cfg.Settle, "how long after the burst the resident size is read")
	f.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	f.StringVar(&o.mdOut, "md", "", "also write the report as Markdown to this file")
	return cmd
}

func (a *app) runBenchHostile(ctx context.Context, out io.Writer, o benchHostileOptions) error {
	svc, err := a.openBench(ctx, "vitrine_bench_hostile", false, []string{a.cfg.Models.Text, a.cfg.Models.Image})
	if err != nil {
		return err
	}
	defer svc.Close()
	st, set := svc.st, svc.set
	if err := a.ingestHostileCatalog(ctx, out, st, set, o.catalog); err != nil {
		return err
	}
	base, stop, err := a.serveHostile(ctx, st, set)
	if err != nil {
		return err
	}
	defer stop()
	o.cfg.Base = base
	fmt.Fprintf(out, "server on %s; searching under bombs, then a burst of %d uploads and %s to settle\n", base, o.cfg.Burst, o.cfg.Settle)
	rep, err := hostile.Run(ctx, o.cfg)
	if err != nil {
		return err
	}
	if err := hostile.Text(out, rep); err != nil {
		return err
	}
	return report.Write(o.jsonOut, o.mdOut, rep, hostile.Markdown)
}

// ingestHostileCatalog ingests the catalog into a text and image space
// (weights 0.5 each), so photo search has images to match.
func (a *app) ingestHostileCatalog(ctx context.Context, out io.Writer, st *store.Store, set *extractors.Set, path string) error {
	text, okText := set.ByModality(models.Text)
	img, okImage := set.ByModality(models.Image)
	if !okText || !okImage {
		return errors.New("bench hostile needs models.text and models.image")
	}
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{
		{Model: text.Key(), Modality: string(models.Text), Dim: text.Dim(), Weight: 0.5},
		{Model: img.Key(), Modality: string(models.Image), Dim: img.Dim(), Weight: 0.5}}}
	sp, err := st.CreateSpace(ctx, records.NewSpace{Name: "hostile", Spec: spec.JSON(), Dim: spec.Dim()})
	if err != nil {
		return err
	}
	if err := st.ActivateSpace(ctx, sp.Version); err != nil {
		return err
	}
	if err := ingest.EnsureIndexes(ctx, st, sp.Version, indexedModels(set)); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open catalog: %w", err)
	}
	defer f.Close()
	abs, _ := filepath.Abs(path)
	rd, err := ingest.NewReader(f, ingest.JSONL, filepath.Dir(abs))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	start := time.Now()
	sum, err := ingest.Run(ctx, rd, ingest.Options{Space: sp, Writer: st, Indexer: a.indexer(st, set)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ingested %d products of %s in %.1fs\n", sum.Indexed, path, time.Since(start).Seconds())
	return nil
}

// serveHostile starts the API in this process on a loopback port with the
// served configuration, less keys and rate limits (the load is the
// bench's); it returns the base URL and how to stop it.
func (a *app) serveHostile(ctx context.Context, st *store.Store, set *extractors.Set) (string, func(), error) {
	cfg, err := a.apiConfig()
	if err != nil {
		return "", nil, err
	}
	cfg.Listen, cfg.Auth, cfg.RateLimit = "127.0.0.1:0", api.AuthOff, 0
	uc, stopServing, err := a.newServing(ctx, st, set)
	if err != nil {
		return "", nil, err
	}
	srv, err := api.New(cfg, api.Deps{Service: uc, Store: st, Encoders: set, Indexer: a.indexer(st, set), Media: a.mediaLoader(), Logger: a.log})
	if err != nil {
		stopServing()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		stopServing()
		return "", nil, err
	}
	srvCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = srv.Start(srvCtx, ln); close(done) }()
	return "http://" + ln.Addr().String(), func() {
		cancel()
		<-done
		stopServing()
	}, nil
}
