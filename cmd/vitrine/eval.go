package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/eval/photos"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/report"
)

func newEvalCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure quality: search, search by photo, recommendations offline, and CTR/CVR online",
		Long: `Evaluation with numbers anyone can reproduce. Offline: 'photos' and 'search'
run the same retrieval as the API over the ingested products and score it
against labelled data; 'recs' compares the recommenders (and rating
predictors) on an interaction file under RecBole's protocols, full ranking;
'synth' writes a planted interaction file for it. Online: 'online' reports
CTR and CVR per A/B variant from the impression log, with confidence
intervals. Each writes --json and --md reports, and PNG plots where a
picture reads better (--plot).`,
	}
	cmd.AddCommand(newEvalPhotosCmd(a), newEvalSearchCmd(a), newEvalRecsCmd(a), newEvalOnlineCmd(a), newEvalSynthCmd())
	return cmd
}

// evalPhotosOptions are the flags of eval photos.
type evalPhotosOptions struct {
	photos, root, jsonOut, mdOut string
}

func newEvalPhotosCmd(a *app) *cobra.Command {
	var o evalPhotosOptions
	cmd := &cobra.Command{
		Use:   "photos --photos FILE",
		Short: "Accuracy of search by photo: is a product of the photo's class among the top 1 and 5?",
		Long: `Search the ingested products with each labelled photo through the served
search by photo (the same use case and configuration as POST
/v1/search/image: the configured image model, then the 5 nearest products by
image embedding), as an anonymous shopper with no filter. A photo is correct at k when one of the top k products has
attributes.fine_class_id equal to the photo's fine class id; coarse-class
accuracy uses attributes.coarse_class_id. Random retrieval's accuracy (chance)
is printed beside each figure.

The photos file has one "path, fine class id, coarse class id" a line (the
Grocery Store Dataset's layout, e.g. ../shared/data/grocery/photos_dev.txt);
paths are relative to the file's directory, or to --root.`,
		Example: `  vitrine ingest demo/grocery/catalog.jsonl
  vitrine eval photos --photos ../shared/data/grocery/photos_dev.txt --json photos.json --md photos.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runEvalPhotos(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVar(&o.photos, "photos", "", "labelled photos: one \"path, fine class id, coarse class id\" a line (required)")
	cmd.Flags().StringVar(&o.root, "root", "", "directory that photo paths are relative to (default: the photos file's directory)")
	cmd.Flags().StringVar(&o.jsonOut, "json", "", "write the report as JSON to this file")
	cmd.Flags().StringVar(&o.mdOut, "md", "", "write the report as Markdown to this file")
	_ = cmd.MarkFlagRequired("photos")
	return cmd
}

func (a *app) runEvalPhotos(ctx context.Context, out io.Writer, o evalPhotosOptions) error {
	ps, err := photos.Read(o.photos, o.root)
	if err != nil {
		return err
	}
	svc, err := a.openServices(ctx, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	img, ok := svc.set.ByModality(models.Image)
	if !ok {
		return errors.New("no image model loaded: set models.image and a positive fusion.image_weight")
	}
	served, stopServing, err := a.newServing(ctx, svc.st, svc.set)
	if err != nil {
		return err
	}
	defer stopServing()
	rep, err := photos.Evaluate(ctx, svc.st, served, img.Key(), ps, photos.WithBatch(a.cfg.ORT.MaxBatch))
	if err != nil {
		return err
	}
	rep.Photos = o.photos
	if err := photos.Text(out, rep); err != nil {
		return err
	}
	return report.Write(o.jsonOut, o.mdOut, rep, photos.Markdown)
}
