// Package photos is the search-by-photo evaluation protocol behind
// `vitrine eval photos`: each labelled shop photo goes through the served
// use case (serving.Service.SearchPhoto, what POST /v1/search/image runs:
// the image model, then the products whose best view is nearest under the
// configured levers), and a photo counts as found at k when a product of
// its class is among the k nearest. With a views file, labelled photos are
// first attached to their products as extra views (AttachViews). It owns the photos file format, the scoring (accuracy@1,
// accuracy@5, MRR@5 per class granularity) and random retrieval's chance
// beside each figure; listing the catalog and searching go through small
// interfaces (labels.Lister, ImageSearcher).
package photos

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/eval/labels"
	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/serving"
)

// K is how deep search by photo looks: accuracy is reported at 1 and K.
const K = 5

// ErrUnlabelled is returned when no product of the catalog carries a fine
// class attribute, so no photo could ever be found.
var ErrUnlabelled = errors.New("no labelled product")

// ErrNoEmbeddings is returned when the catalog has no embedding of the
// image model to search.
var ErrNoEmbeddings = errors.New("no product image embedding")

// Photo is one line of a photos file: path, fine class, coarse class.
type Photo struct {
	Path   string `json:"path"`
	Fine   int    `json:"fine_class_id"`
	Coarse int    `json:"coarse_class_id"`
	// Line is the photo's line in its file, for error messages.
	Line int `json:"-"`
}

// Read reads "path, fine class id, coarse class id" lines (the Grocery
// Store Dataset's layout); blank lines and # comments are skipped.
// Relative paths are resolved against root, or else the file's directory.
func Read(path, root string) ([]Photo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if root == "" {
		root = filepath.Dir(path)
	}
	var out []Photo
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, err := parseLine(line, n)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
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

// parseLine reads one non-blank line of a photos file.
func parseLine(line string, n int) (Photo, error) {
	parts := strings.Split(line, ",")
	if len(parts) != 3 {
		return Photo{}, fmt.Errorf("%d fields, want path, fine class id, coarse class id", len(parts))
	}
	p := Photo{Path: strings.TrimSpace(parts[0]), Line: n}
	if p.Path == "" {
		return p, errors.New("empty photo path")
	}
	var err error
	if p.Fine, err = strconv.Atoi(strings.TrimSpace(parts[1])); err != nil {
		return p, fmt.Errorf("fine class id %q is not an integer", strings.TrimSpace(parts[1]))
	}
	if p.Coarse, err = strconv.Atoi(strings.TrimSpace(parts[2])); err != nil {
		return p, fmt.Errorf("coarse class id %q is not an integer", strings.TrimSpace(parts[2]))
	}
	return p, nil
}

// ChanceAt is the probability that k products drawn at random from n hold
// at least one of m relevant ones: 1 - C(n-m, k) / C(n, k).
func ChanceAt(n, m, k int) float64 {
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

// Accuracy is search by photo scored at one class granularity.
type Accuracy struct {
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

// Result is one photo's search.
type Result struct {
	Path   string   `json:"path"`
	Fine   int      `json:"fine_class_id"`
	Coarse int      `json:"coarse_class_id"`
	Top    []string `json:"top"`
	// FineRank and CoarseRank are the 1-based positions of the first
	// product of the photo's class in Top; 0 when absent.
	FineRank   int `json:"fine_rank"`
	CoarseRank int `json:"coarse_rank"`
}

// Report is what an evaluation measured.
type Report struct {
	Photos   string   `json:"photos"`
	Model    string   `json:"model"`
	Products int      `json:"products"`
	K        int      `json:"k"`
	Fine     Accuracy `json:"fine"`
	Coarse   Accuracy `json:"coarse"`
	Seconds  float64  `json:"seconds"`
	// Hubs are the products most often answered first, most first (up
	// to Hubs), and HubShare the share of all top-1 answers they take.
	Hubs     []string `json:"hubs"`
	HubShare float64  `json:"hub_share"`
	PerPhoto []Result `json:"per_photo"`
}

// HubCount is how many of the most frequent top-1 products the report's
// hub share counts.
const HubCount = 3

// ImageSearcher is the served search-by-photo use case, what POST
// /v1/search/image runs: the photo encoded by the image model, then the
// products whose views are nearest, hydrated. *serving.Service
// satisfies it.
type ImageSearcher interface {
	SearchPhoto(ctx context.Context, req serving.ImageSearchRequest) (serving.ImageSearchResult, error)
}

type options struct{ batch int }

// Option configures Evaluate.
type Option func(*options)

// WithBatch searches photos n at a time, concurrently, so that the image
// encoder's dynamic batcher gathers them into one model run as it does
// concurrent API requests (default 32, the service's ort.max_batch).
func WithBatch(n int) Option { return func(o *options) { o.batch = max(n, 1) } }

// truth is which products carry each class.
type truth struct {
	fineOf, coarseOf map[string]int
	byFine, byCoarse map[int][]string
	products         int
	fineQ, coarseQ   []metrics.Query
	chance           [2][2]float64 // [fine, coarse][@1, @K] sums
}

func newTruth(products []catalog.Product) *truth {
	t := &truth{fineOf: map[string]int{}, coarseOf: map[string]int{}, byFine: map[int][]string{}, byCoarse: map[int][]string{}, products: len(products)}
	for _, p := range products {
		if c, ok := labels.ClassID(p.Attributes, labels.FineClass); ok {
			t.fineOf[p.ID] = c
			t.byFine[c] = append(t.byFine[c], p.ID)
		}
		if c, ok := labels.ClassID(p.Attributes, labels.CoarseClass); ok {
			t.coarseOf[p.ID] = c
			t.byCoarse[c] = append(t.byCoarse[c], p.ID)
		}
	}
	return t
}

// Evaluate searches each photo's K nearest products through the served
// use case, as an anonymous shopper with no filter, and scores the class
// of what comes back. cat lists the products for their class labels;
// model is the image model's key, for the report.
func Evaluate(ctx context.Context, cat labels.Lister, s ImageSearcher, model string, photos []Photo, opts ...Option) (Report, error) {
	o := options{batch: 32}
	for _, opt := range opts {
		opt(&o)
	}
	start := time.Now()
	rep := Report{Model: model, K: K}
	products, err := labels.Products(ctx, cat)
	if err != nil {
		return rep, err
	}
	rep.Products = len(products)
	t := newTruth(products)
	if len(t.fineOf) == 0 {
		return rep, fmt.Errorf("%w: none of the %d products has attributes.%s: ingest a labelled catalog (demo/grocery/catalog.jsonl)", ErrUnlabelled, len(products), labels.FineClass)
	}
	for lo := 0; lo < len(photos); lo += o.batch {
		rs, err := t.searchBatch(ctx, s, model, photos[lo:min(lo+o.batch, len(photos))])
		if err != nil {
			return rep, err
		}
		rep.PerPhoto = append(rep.PerPhoto, rs...)
	}
	rep.Fine, rep.Coarse = t.accuracy(0, t.fineQ), t.accuracy(1, t.coarseQ)
	rep.Hubs, rep.HubShare = hubs(rep.PerPhoto, HubCount)
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// searchBatch reads a batch of photos, searches them concurrently and
// records each one's queries for scoring, in the batch's order.
func (t *truth) searchBatch(ctx context.Context, s ImageSearcher, model string, chunk []Photo) ([]Result, error) {
	inputs := make([][]byte, len(chunk))
	for i, p := range chunk {
		var err error
		if inputs[i], err = os.ReadFile(p.Path); err != nil {
			return nil, fmt.Errorf("photo on line %d: %w", p.Line, err)
		}
	}
	found := make([][]string, len(chunk))
	errs := make([]error, len(chunk))
	var wg sync.WaitGroup
	for i := range chunk {
		wg.Go(func() {
			res, err := s.SearchPhoto(ctx, serving.ImageSearchRequest{Image: inputs[i], K: K})
			found[i], errs[i] = serving.IDs(res.Hits), err
		})
	}
	wg.Wait()
	out := make([]Result, 0, len(chunk))
	for i, p := range chunk {
		if errs[i] != nil {
			return nil, fmt.Errorf("photo %s (line %d): %w", p.Path, p.Line, errs[i])
		}
		if len(found[i]) == 0 {
			return nil, fmt.Errorf("%w of %s: ingest the catalog with this image model", ErrNoEmbeddings, model)
		}
		out = append(out, t.score(p, found[i]))
	}
	return out, nil
}

// score ranks one photo's neighbours against its classes.
func (t *truth) score(p Photo, top []string) Result {
	r := Result{Path: p.Path, Fine: p.Fine, Coarse: p.Coarse, Top: top}
	for j, id := range top {
		if c, ok := t.fineOf[id]; ok && c == p.Fine && r.FineRank == 0 {
			r.FineRank = j + 1
		}
		if c, ok := t.coarseOf[id]; ok && c == p.Coarse && r.CoarseRank == 0 {
			r.CoarseRank = j + 1
		}
	}
	t.fineQ = append(t.fineQ, metrics.Query{ID: p.Path, Ranked: r.Top, Relevant: relevance(t.byFine[p.Fine])})
	t.coarseQ = append(t.coarseQ, metrics.Query{ID: p.Path, Ranked: r.Top, Relevant: relevance(t.byCoarse[p.Coarse])})
	for g, m := range []int{len(t.byFine[p.Fine]), len(t.byCoarse[p.Coarse])} {
		if m > 0 {
			t.chance[g][0] += ChanceAt(t.products, m, 1)
			t.chance[g][1] += ChanceAt(t.products, m, K)
		}
	}
	return r
}

// accuracy scores granularity g (0 fine, 1 coarse) over its queries.
func (t *truth) accuracy(g int, qs []metrics.Query) Accuracy {
	s := metrics.Evaluate(qs, []metrics.Metric{metrics.HitRateAt(1), metrics.HitRateAt(K), metrics.MRRAt(K)})
	var acc Accuracy
	acc.At1, _ = s.Get("hr@1")
	acc.At5, _ = s.Get(fmt.Sprintf("hr@%d", K))
	acc.MRR, _ = s.Get(fmt.Sprintf("mrr@%d", K))
	acc.Evaluated, acc.Skipped = s.Evaluated, s.Skipped
	if s.Evaluated > 0 {
		acc.Chance1 = t.chance[g][0] / float64(s.Evaluated)
		acc.Chance5 = t.chance[g][1] / float64(s.Evaluated)
	}
	return acc
}

// hubs returns the n products most often first, most first (ties by id),
// and the share of first answers they take.
func hubs(rs []Result, n int) ([]string, float64) {
	count := map[string]int{}
	for _, r := range rs {
		if len(r.Top) > 0 {
			count[r.Top[0]]++
		}
	}
	ids := make([]string, 0, len(count))
	for id := range count {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := cmp.Compare(count[b], count[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	ids = ids[:min(n, len(ids))]
	taken := 0
	for _, id := range ids {
		taken += count[id]
	}
	if len(rs) == 0 {
		return ids, 0
	}
	return ids, float64(taken) / float64(len(rs))
}

// relevance marks products as relevant with grade 1.
func relevance(ids []string) metrics.Relevance {
	r := make(metrics.Relevance, len(ids))
	for _, id := range ids {
		r[id] = 1
	}
	return r
}

// Granularities are the report's two rows, fine first, for printing.
func (r Report) Granularities() []struct {
	Name string
	Acc  Accuracy
} {
	return []struct {
		Name string
		Acc  Accuracy
	}{{"fine", r.Fine}, {"coarse", r.Coarse}}
}

// Text writes the report for a terminal: a summary line, one aligned row
// per class granularity and the photos skipped.
func Text(w io.Writer, rep Report) error {
	fmt.Fprintf(w, "search by photo: %d photos against %d products (%s image embeddings), %.1fs\n",
		len(rep.PerPhoto), rep.Products, rep.Model, rep.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\taccuracy@1\taccuracy@5\tmrr@5\tchance@1\tchance@5\tphotos\t")
	for _, g := range rep.Granularities() {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t\n", g.Name, g.Acc.At1, g.Acc.At5, g.Acc.MRR, g.Acc.Chance1, g.Acc.Chance5, g.Acc.Evaluated)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "hub products (%s) take %.3f of the top-1 answers\n", strings.Join(rep.Hubs, ", "), rep.HubShare)
	if rep.Fine.Skipped > 0 {
		_, err := fmt.Fprintf(w, "%d photos skipped: no ingested product has their fine class\n", rep.Fine.Skipped)
		return err
	}
	return nil
}

// Markdown writes the report as a Markdown table.
func Markdown(w io.Writer, rep Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Search by photo\n\n")
	fmt.Fprintf(&b, "%d labelled photos (`%s`) against %d ingested products, nearest %d by `%s` image embedding.\n\n",
		len(rep.PerPhoto), rep.Photos, rep.Products, rep.K, rep.Model)
	fmt.Fprintf(&b, "| class | accuracy@1 | accuracy@5 | MRR@5 | chance@1 | chance@5 | photos |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, g := range rep.Granularities() {
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %d |\n", g.Name, g.Acc.At1, g.Acc.At5, g.Acc.MRR, g.Acc.Chance1, g.Acc.Chance5, g.Acc.Evaluated)
	}
	fmt.Fprintf(&b, "\nThe %d products most often first (%s) take %.3f of the top-1 answers.\n", len(rep.Hubs), strings.Join(rep.Hubs, ", "), rep.HubShare)
	if rep.Fine.Skipped > 0 {
		fmt.Fprintf(&b, "\n%d photos skipped: no ingested product has their fine class.\n", rep.Fine.Skipped)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
