package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
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

// Attribute names that label the grocery catalog's products.
const (
	fineClassAttr   = "fine_class_id"
	coarseClassAttr = "coarse_class_id"
)

// photoK is how deep search by photo looks: accuracy is reported at 1 and 5.
const photoK = 5

// labelledPhoto is one line of a photos file: path, fine class, coarse class.
type labelledPhoto struct {
	Path   string `json:"path"`
	Fine   int    `json:"fine_class_id"`
	Coarse int    `json:"coarse_class_id"`
	line   int
}

// readPhotos reads "path, fine class id, coarse class id" lines (the
// Grocery Store Dataset's layout); blank lines and # comments are skipped.
// Relative paths are resolved against root, or else the file's directory.
func readPhotos(path, root string) ([]labelledPhoto, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if root == "" {
		root = filepath.Dir(path)
	}
	var out []labelledPhoto
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ",")
		if len(parts) != 3 {
			return nil, fmt.Errorf("%s:%d: %d fields, want path, fine class id, coarse class id", path, n, len(parts))
		}
		p := labelledPhoto{Path: strings.TrimSpace(parts[0]), line: n}
		if p.Path == "" {
			return nil, fmt.Errorf("%s:%d: empty photo path", path, n)
		}
		if p.Fine, err = strconv.Atoi(strings.TrimSpace(parts[1])); err != nil {
			return nil, fmt.Errorf("%s:%d: fine class id %q is not an integer", path, n, strings.TrimSpace(parts[1]))
		}
		if p.Coarse, err = strconv.Atoi(strings.TrimSpace(parts[2])); err != nil {
			return nil, fmt.Errorf("%s:%d: coarse class id %q is not an integer", path, n, strings.TrimSpace(parts[2]))
		}
		if !filepath.IsAbs(p.Path) {
			p.Path = filepath.Join(root, p.Path)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no photos listed", path)
	}
	return out, nil
}

// evalClassID reads an integer class attribute as stored (JSON numbers come
// back as float64; a catalog may also have written strings).
func evalClassID(attrs map[string]any, key string) (int, bool) {
	switch v := attrs[key].(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v), true
		}
	case int:
		return v, true
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return int(n), true
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, true
		}
	}
	return 0, false
}

// evalProducts lists every live product, in id order.
func evalProducts(ctx context.Context, st *store.Store) ([]catalog.Product, error) {
	var out []catalog.Product
	after := ""
	for {
		page, err := st.ProductsAfter(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// evalChanceAt is the probability that k products drawn at random from n hold
// at least one of m relevant ones: 1 - C(n-m, k) / C(n, k).
func evalChanceAt(n, m, k int) float64 {
	if m <= 0 || n <= 0 {
		return 0
	}
	miss := 1.0
	for i := range min(k, n) {
		miss *= float64(n-m-i) / float64(n-i)
		if miss <= 0 {
			return 1
		}
	}
	return 1 - miss
}

// photoAccuracy is search by photo scored at one class granularity.
type photoAccuracy struct {
	At1 float64 `json:"accuracy@1"`
	At5 float64 `json:"accuracy@5"`
	MRR float64 `json:"mrr@5"`
	// Chance is what retrieving k products at random would score, given
	// how many products each photo's class has.
	Chance1 float64 `json:"chance@1"`
	Chance5 float64 `json:"chance@5"`
	// Evaluated photos have at least one product of their class in the
	// catalog; the others cannot be found and are skipped.
	Evaluated int `json:"evaluated"`
	Skipped   int `json:"skipped"`
}

type photoResult struct {
	Path   string   `json:"path"`
	Fine   int      `json:"fine_class_id"`
	Coarse int      `json:"coarse_class_id"`
	Top    []string `json:"top"`
	// FineRank and CoarseRank are the 1-based positions of the first
	// product of the photo's class in Top; 0 when absent.
	FineRank   int `json:"fine_rank"`
	CoarseRank int `json:"coarse_rank"`
}

type photoReport struct {
	Photos   string        `json:"photos"`
	Model    string        `json:"model"`
	Products int           `json:"products"`
	K        int           `json:"k"`
	Fine     photoAccuracy `json:"fine"`
	Coarse   photoAccuracy `json:"coarse"`
	Seconds  float64       `json:"seconds"`
	PerPhoto []photoResult `json:"per_photo"`
}

func newEvalPhotosCmd(a *app) *cobra.Command {
	var photosFile, root, jsonOut, mdOut string
	cmd := &cobra.Command{
		Use:   "photos --photos FILE",
		Short: "Accuracy of search by photo: is a product of the photo's class among the top 1 and 5?",
		Long: `Encode each labelled photo with the configured image model and search the
ingested products' image embeddings, as POST /v1/search/image does (the 5
nearest). A photo is correct at k when one of the top k products has
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
			ctx := cmd.Context()
			photos, err := readPhotos(photosFile, root)
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
			rep, err := a.evalPhotos(ctx, svc.st, img, photos)
			if err != nil {
				return err
			}
			rep.Photos = photosFile
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "search by photo: %d photos against %d products (%s image embeddings), %.1fs\n",
				len(photos), rep.Products, rep.Model, rep.Seconds)
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "class\taccuracy@1\taccuracy@5\tmrr@5\tchance@1\tchance@5\tphotos\t")
			for _, r := range []struct {
				name string
				acc  photoAccuracy
			}{{"fine", rep.Fine}, {"coarse", rep.Coarse}} {
				fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t\n", r.name, r.acc.At1, r.acc.At5, r.acc.MRR, r.acc.Chance1, r.acc.Chance5, r.acc.Evaluated)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if rep.Fine.Skipped > 0 {
				fmt.Fprintf(out, "%d photos skipped: no ingested product has their fine class\n", rep.Fine.Skipped)
			}
			return report.Write(jsonOut, mdOut, rep, photoMarkdown)
		},
	}
	cmd.Flags().StringVar(&photosFile, "photos", "", "labelled photos: one \"path, fine class id, coarse class id\" a line (required)")
	cmd.Flags().StringVar(&root, "root", "", "directory that photo paths are relative to (default: the photos file's directory)")
	cmd.Flags().StringVar(&jsonOut, "json", "", "write the report as JSON to this file")
	cmd.Flags().StringVar(&mdOut, "md", "", "write the report as Markdown to this file")
	_ = cmd.MarkFlagRequired("photos")
	return cmd
}

// evalPhotos encodes the photos in batches, searches each one's nearest
// products by image embedding and scores the class of what comes back.
func (a *app) evalPhotos(ctx context.Context, st *store.Store, img extractors.Encoder, photos []labelledPhoto) (photoReport, error) {
	start := time.Now()
	rep := photoReport{Model: img.Key(), K: photoK}
	products, err := evalProducts(ctx, st)
	if err != nil {
		return rep, err
	}
	rep.Products = len(products)
	// The ground truth: which products carry each class.
	fineOf, coarseOf := map[string]int{}, map[string]int{}
	byFine, byCoarse := map[int][]string{}, map[int][]string{}
	for _, p := range products {
		if c, ok := evalClassID(p.Attributes, fineClassAttr); ok {
			fineOf[p.ID] = c
			byFine[c] = append(byFine[c], p.ID)
		}
		if c, ok := evalClassID(p.Attributes, coarseClassAttr); ok {
			coarseOf[p.ID] = c
			byCoarse[c] = append(byCoarse[c], p.ID)
		}
	}
	if len(fineOf) == 0 {
		return rep, fmt.Errorf("none of the %d ingested products has attributes.%s: ingest a labelled catalog (demo/grocery/catalog.jsonl)", len(products), fineClassAttr)
	}
	batch := max(a.cfg.ORT.MaxBatch, 1)
	var fineQ, coarseQ []metrics.Query
	var chance [2][2]float64 // [fine, coarse][@1, @5] sums
	for lo := 0; lo < len(photos); lo += batch {
		chunk := photos[lo:min(lo+batch, len(photos))]
		inputs := make([][]byte, len(chunk))
		for i, p := range chunk {
			if inputs[i], err = os.ReadFile(p.Path); err != nil {
				return rep, fmt.Errorf("photo on line %d: %w", p.line, err)
			}
		}
		vecs, errs, err := img.EncodeBatch(ctx, inputs)
		if err != nil {
			return rep, fmt.Errorf("encode photos: %w", err)
		}
		for i, p := range chunk {
			if errs[i] != nil {
				return rep, fmt.Errorf("photo %s (line %d): %w", p.Path, p.line, errs[i])
			}
			nn, err := st.Nearest(ctx, store.NearestQuery{Model: img.Key(), Vector: vecs[i], K: photoK})
			if err != nil {
				return rep, err
			}
			if len(nn) == 0 {
				return rep, fmt.Errorf("no product has a %s embedding: ingest the catalog with this image model", img.Key())
			}
			r := photoResult{Path: p.Path, Fine: p.Fine, Coarse: p.Coarse}
			for j, n := range nn {
				r.Top = append(r.Top, n.ProductID)
				if c, ok := fineOf[n.ProductID]; ok && c == p.Fine && r.FineRank == 0 {
					r.FineRank = j + 1
				}
				if c, ok := coarseOf[n.ProductID]; ok && c == p.Coarse && r.CoarseRank == 0 {
					r.CoarseRank = j + 1
				}
			}
			rep.PerPhoto = append(rep.PerPhoto, r)
			fineQ = append(fineQ, metrics.Query{ID: p.Path, Ranked: r.Top, Relevant: evalRelevance(byFine[p.Fine])})
			coarseQ = append(coarseQ, metrics.Query{ID: p.Path, Ranked: r.Top, Relevant: evalRelevance(byCoarse[p.Coarse])})
			for g, m := range []int{len(byFine[p.Fine]), len(byCoarse[p.Coarse])} {
				if m > 0 {
					chance[g][0] += evalChanceAt(len(products), m, 1)
					chance[g][1] += evalChanceAt(len(products), m, photoK)
				}
			}
		}
	}
	ms := []metrics.Metric{metrics.HitRateAt(1), metrics.HitRateAt(photoK), metrics.MRRAt(photoK)}
	for g, acc := range []*photoAccuracy{&rep.Fine, &rep.Coarse} {
		qs := [][]metrics.Query{fineQ, coarseQ}[g]
		s := metrics.Evaluate(qs, ms)
		acc.At1, _ = s.Get("hr@1")
		acc.At5, _ = s.Get(fmt.Sprintf("hr@%d", photoK))
		acc.MRR, _ = s.Get(fmt.Sprintf("mrr@%d", photoK))
		acc.Evaluated, acc.Skipped = s.Evaluated, s.Skipped
		if s.Evaluated > 0 {
			acc.Chance1 = chance[g][0] / float64(s.Evaluated)
			acc.Chance5 = chance[g][1] / float64(s.Evaluated)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// evalRelevance marks products as relevant with grade 1.
func evalRelevance(ids []string) metrics.Relevance {
	r := make(metrics.Relevance, len(ids))
	for _, id := range ids {
		r[id] = 1
	}
	return r
}

func photoMarkdown(w io.Writer, rep photoReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Search by photo\n\n")
	fmt.Fprintf(&b, "%d labelled photos (`%s`) against %d ingested products, nearest %d by `%s` image embedding.\n\n",
		len(rep.PerPhoto), rep.Photos, rep.Products, rep.K, rep.Model)
	fmt.Fprintf(&b, "| class | accuracy@1 | accuracy@5 | MRR@5 | chance@1 | chance@5 | photos |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range []struct {
		name string
		acc  photoAccuracy
	}{{"fine", rep.Fine}, {"coarse", rep.Coarse}} {
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %d |\n", r.name, r.acc.At1, r.acc.At5, r.acc.MRR, r.acc.Chance1, r.acc.Chance5, r.acc.Evaluated)
	}
	if rep.Fine.Skipped > 0 {
		fmt.Fprintf(&b, "\n%d photos skipped: no ingested product has their fine class.\n", rep.Fine.Skipped)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
