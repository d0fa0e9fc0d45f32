package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/eval/labels"
	"github.com/vitrinehq/vitrine/eval/photos"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/serving"
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
	cmd.AddCommand(newEvalPhotosCmd(a), newEvalSearchCmd(a), newEvalRecsCmd(a), newEvalOnlineCmd(a), newEvalSynthCmd(), newEvalVoiceCmd(a))
	return cmd
}

// evalPhotosOptions are the flags of eval photos.
type evalPhotosOptions struct {
	photos, root, jsonOut, mdOut string
	views                        string
	keepViews                    bool
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
paths are relative to the file's directory, or to --root.

With --views FILE (the same layout, e.g. photos_train.txt) it measures
twice: with the catalog images only, then with every photo of FILE attached
to the products of its fine class as an extra view (encoded by the served
image model, stored in image_views through the store, matched like any
view). The attached views are removed afterwards unless --keep-views.
The levers of search by photo are the configuration's (image.*, and
models.image for pooling and flip).`,
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
	cmd.Flags().StringVar(&o.views, "views", "", "labelled photos to attach as extra product views, measured without and with them")
	cmd.Flags().BoolVar(&o.keepViews, "keep-views", false, "keep the --views photos attached after measuring")
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
	if o.views != "" {
		return a.evalPhotoViews(ctx, out, o, svc.st, served, img.Key(), ps)
	}
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

// evalPhotoViews measures search by photo with the catalog images only,
// then with o.views attached as extra views.
func (a *app) evalPhotoViews(ctx context.Context, out io.Writer, o evalPhotosOptions, cat labels.Lister, served *serving.Service, model string, ps []photos.Photo) (err error) {
	views, err := photos.Read(o.views, o.root)
	if err != nil {
		return err
	}
	source := photos.ViewsSource(filepath.Base(o.views))
	if _, err := served.RemoveImageViews(ctx, source); err != nil {
		return err
	}
	r := photos.ViewsReport{ViewsFile: o.views}
	batch := photos.WithBatch(a.cfg.ORT.MaxBatch)
	if r.Without, err = photos.Evaluate(ctx, cat, served, model, ps, batch); err != nil {
		return err
	}
	if !o.keepViews {
		defer func() {
			if _, rerr := served.RemoveImageViews(context.WithoutCancel(ctx), source); err == nil {
				err = rerr
			}
		}()
	}
	if r.Views, err = photos.AttachViews(ctx, cat, served, source, views, 4*a.cfg.ORT.MaxBatch); err != nil {
		return err
	}
	if r.With, err = photos.Evaluate(ctx, cat, served, model, ps, batch); err != nil {
		return err
	}
	r.Without.Photos, r.With.Photos = o.photos, o.photos
	if err := photos.ViewsText(out, r); err != nil {
		return err
	}
	return report.Write(o.jsonOut, o.mdOut, r, photos.ViewsMarkdown)
}
