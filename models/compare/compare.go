// Package compare measures what replacing one encoder by another costs,
// the engine behind `vitrine models compare`: two models of one modality
// encode the same inputs, alternating over timed passes, and it reports
// each graph's size, each model's items/s, how closely their embeddings
// of each input agree (cosine, by vecmath's rule) and how many of each
// input's nearest neighbours survive the change (recall@K). It owns the
// inputs file format; opening models goes through extractors.
package compare

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/vecmath"
)

// ErrModalities is returned for two models of different modalities.
var ErrModalities = errors.New("compare needs one modality")

// ErrTooFewInputs is returned for fewer than two inputs: no input would
// have a neighbour.
var ErrTooFewInputs = errors.New("compare needs at least 2")

// Model is one side of a comparison: its manifest and the directory that
// holds its files (<Dir>/<name>/<version>/).
type Model struct {
	Manifest models.Manifest
	Dir      string
}

// Graph is the path of the model's graph file.
func (m Model) Graph() string {
	return filepath.Join(m.Dir, m.Manifest.Name, m.Manifest.Version, m.Manifest.Graph())
}

// Inputs are what both models encode, with the line of the file each came
// from (for error messages).
type Inputs struct {
	Data  [][]byte
	Lines []int
}

// ReadInputs reads an inputs file: one text per line for a text model;
// for image and audio models one file path per line, relative to the
// inputs file's directory unless absolute, whose bytes are read. Blank
// lines are skipped and lines are trimmed (CRLF endings included).
func ReadInputs(path string, mod models.Modality) (Inputs, error) {
	var in Inputs
	b, err := os.ReadFile(path)
	if err != nil {
		return in, fmt.Errorf("inputs: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20) // long product descriptions
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		data := []byte(s)
		if mod != models.Text {
			p := s
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(path), p)
			}
			if data, err = os.ReadFile(p); err != nil {
				return in, fmt.Errorf("inputs %s:%d: %w", path, line, err)
			}
		}
		in.Data = append(in.Data, data)
		in.Lines = append(in.Lines, line)
	}
	if err := sc.Err(); err != nil {
		return in, fmt.Errorf("inputs %s: %w", path, err)
	}
	return in, nil
}

// Side is one model as measured.
type Side struct {
	Model
	// Size is the graph file's size in bytes.
	Size int64
	// Vectors are the model's embeddings of the inputs, in order.
	Vectors [][]float32
	// Times are the timed passes over all inputs.
	Times []time.Duration
}

// ItemsPerSecond is n inputs over the median pass.
func (s Side) ItemsPerSecond(n int) float64 {
	if len(s.Times) == 0 {
		return 0
	}
	ts := slices.Clone(s.Times)
	slices.Sort(ts)
	return float64(n) / ts[len(ts)/2].Seconds()
}

// Comparison is what Run measured.
type Comparison struct {
	A, B   Side
	Inputs int
	Batch  int
	Runs   int
	// K is the neighbours compared per input: the asked K, at most the
	// other inputs.
	K int
	// SameDim says whether the embeddings have one dimension; CosMean and
	// CosMin are set only then.
	SameDim         bool
	CosMean, CosMin float64
	// Recall is the mean share of A's K nearest other inputs (by cosine of
	// A's embeddings) that are also among B's K nearest.
	Recall float64
}

// SizeRatio is B's graph size over A's.
func (c Comparison) SizeRatio() float64 { return float64(c.B.Size) / float64(c.A.Size) }

// SpeedRatio is B's items/s over A's.
func (c Comparison) SpeedRatio() float64 {
	return c.B.ItemsPerSecond(c.Inputs) / c.A.ItemsPerSecond(c.Inputs)
}

type options struct{ batch, runs, k int }

// Option configures Run.
type Option func(*options)

// WithBatch encodes n inputs per model run (default 32).
func WithBatch(n int) Option { return func(o *options) { o.batch = n } }

// WithRuns times n passes over all inputs per model (default 3).
func WithRuns(n int) Option { return func(o *options) { o.runs = n } }

// WithK compares n neighbours per input for recall@K (default 10).
func WithK(n int) Option { return func(o *options) { o.k = n } }

// Run opens both models on rt and encodes every input with each: after a
// warm-up batch each, runs passes over all inputs, A and B alternating so
// that neither gains from running second. Inputs are in memory before any
// timing, so only encoding is measured (preprocessing included, as the
// service pays it). Then it scores the embeddings' agreement.
func Run(ctx context.Context, rt *onnx.Runtime, a, b Model, in Inputs, opts ...Option) (Comparison, error) {
	o := options{batch: 32, runs: 3, k: 10}
	for _, opt := range opts {
		opt(&o)
	}
	c := Comparison{A: Side{Model: a}, B: Side{Model: b}, Inputs: len(in.Data), Batch: o.batch, Runs: o.runs}
	if o.batch < 1 || o.runs < 1 || o.k < 1 {
		return c, fmt.Errorf("batch %d, runs %d, k %d: each must be positive", o.batch, o.runs, o.k)
	}
	if a.Manifest.Modality != b.Manifest.Modality {
		return c, fmt.Errorf("%s is a %s model and %s a %s model: %w", a.Manifest.Key(), a.Manifest.Modality, b.Manifest.Key(), b.Manifest.Modality, ErrModalities)
	}
	if len(in.Data) < 2 {
		return c, fmt.Errorf("%d inputs; %w", len(in.Data), ErrTooFewInputs)
	}
	c.K = min(o.k, len(in.Data)-1)
	if err := encodeBoth(ctx, rt, []*Side{&c.A, &c.B}, in, o); err != nil {
		return c, err
	}
	var err error
	if c.SameDim = a.Manifest.Dim == b.Manifest.Dim; c.SameDim {
		if c.CosMean, c.CosMin, err = Agreement(c.A.Vectors, c.B.Vectors); err != nil {
			return c, err
		}
	}
	na, err := Neighbours(c.A.Vectors, c.K)
	if err != nil {
		return c, err
	}
	nb, err := Neighbours(c.B.Vectors, c.K)
	if err != nil {
		return c, err
	}
	c.Recall = Overlap(na, nb)
	return c, nil
}

// encodeBoth opens the sides' encoders, warms each up and times o.runs
// interleaved passes, keeping each side's first embeddings.
func encodeBoth(ctx context.Context, rt *onnx.Runtime, sides []*Side, in Inputs, o options) error {
	encs := make([]extractors.Encoder, len(sides))
	for i, s := range sides {
		st, err := os.Stat(s.Graph())
		if err != nil {
			return fmt.Errorf("%s: %w (run `vitrine models fetch %s`)", s.Manifest.Key(), err, s.Manifest.Name)
		}
		s.Size = st.Size()
		if encs[i], err = extractors.Open(ctx, rt, s.Manifest, s.Dir, extractors.Options{MaxBatch: o.batch}); err != nil {
			return err
		}
		defer encs[i].Close()
		// Warm-up: ORT sizes its buffers on the first runs.
		if _, err := encode(ctx, encs[i], in.Data[:min(o.batch, len(in.Data))], in.Lines); err != nil {
			return err
		}
	}
	for r := range o.runs {
		order := []int{0, 1}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, i := range order {
			start := time.Now()
			vecs, err := encode(ctx, encs[i], in.Data, in.Lines)
			if err != nil {
				return err
			}
			sides[i].Times = append(sides[i].Times, time.Since(start))
			if sides[i].Vectors == nil {
				sides[i].Vectors = vecs
			}
		}
	}
	return nil
}

// encode runs one EncodeBatch, naming the input line of a failure.
func encode(ctx context.Context, enc extractors.Encoder, data [][]byte, lines []int) ([][]float32, error) {
	vecs, errs, err := enc.EncodeBatch(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", enc.Key(), err)
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s: input on line %d: %w", enc.Key(), lines[i], err)
		}
	}
	return vecs, nil
}

// Agreement is the mean and minimum cosine between paired vectors (a
// zero vector has cosine 0 with anything); vectors of different lengths
// are an error (vecmath.ErrLengthMismatch).
func Agreement(a, b [][]float32) (mean, lo float64, err error) {
	if len(a) != len(b) || len(a) == 0 {
		return 0, 0, fmt.Errorf("%d and %d vectors: want as many, at least one", len(a), len(b))
	}
	lo = 1
	for i := range a {
		c, err := vecmath.Cosine(a[i], b[i])
		if err != nil {
			return 0, 0, fmt.Errorf("input %d: %w", i, err)
		}
		mean += c
		lo = min(lo, c)
	}
	return mean / float64(len(a)), lo, nil
}

// Neighbours returns, for each vector, the indices of its k most similar
// other vectors by cosine, most similar first (ties by index, so the
// result is deterministic; a zero vector is as similar to each as 0).
// Queries are split across the CPUs: the scan is n² dot products. Vectors
// of different lengths are an error (vecmath.ErrLengthMismatch).
func Neighbours(vecs [][]float32, k int) ([][]int, error) {
	unit := make([][]float32, len(vecs))
	for i, v := range vecs {
		unit[i] = slices.Clone(v)
		vecmath.Normalize(unit[i])
		if len(v) != len(vecs[0]) {
			return nil, fmt.Errorf("vector %d: %d values, vector 0 %d: %w", i, len(v), len(vecs[0]), vecmath.ErrLengthMismatch)
		}
	}
	k = min(k, max(len(vecs)-1, 0))
	out := make([][]int, len(vecs))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for wk := range workers {
		wg.Go(func() {
			sims := make([]float64, len(unit))
			idx := make([]int, 0, len(unit))
			for q := wk; q < len(unit); q += workers {
				idx = idx[:0]
				for j, u := range unit {
					if j != q {
						sims[j], _ = vecmath.Dot(u, unit[q]) // lengths checked above
						idx = append(idx, j)
					}
				}
				slices.SortFunc(idx, func(x, y int) int {
					if c := cmp.Compare(sims[y], sims[x]); c != 0 {
						return c
					}
					return x - y
				})
				out[q] = slices.Clone(idx[:k])
			}
		})
	}
	wg.Wait()
	return out, nil
}

// Overlap is the mean share of a's neighbours of each query that are also
// among b's (0 for no queries or no neighbours).
func Overlap(a, b [][]int) float64 {
	var sum float64
	for q := range a {
		if len(a[q]) == 0 {
			continue
		}
		hit := 0
		for _, j := range b[q] {
			if slices.Contains(a[q], j) {
				hit++
			}
		}
		sum += float64(hit) / float64(len(a[q]))
	}
	if len(a) == 0 {
		return 0
	}
	return sum / float64(len(a))
}

// Text writes the comparison for a terminal: each model's graph, size and
// items/s, then the ratios B/A, the cosine agreement and recall@K.
func (c Comparison) Text(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tMODEL\tGRAPH\tSIZE\tITEMS/S")
	for i, s := range []Side{c.A, c.B} {
		fmt.Fprintf(tw, "%c\t%s\t%s\t%s\t%.1f\n", 'A'+i, s.Manifest.Key(), s.Manifest.Graph(), ByteSize(s.Size), s.ItemsPerSecond(c.Inputs))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nsize B/A:    %.3f\n", c.SizeRatio())
	fmt.Fprintf(w, "speed B/A:   %.2f (items/s, median of %d passes over %d inputs, batch %d)\n", c.SpeedRatio(), c.Runs, c.Inputs, c.Batch)
	if c.SameDim {
		fmt.Fprintf(w, "cosine A,B:  mean %.5f  min %.5f (%d inputs)\n", c.CosMean, c.CosMin, c.Inputs)
	} else {
		fmt.Fprintf(w, "cosine A,B:  n/a (%d and %d dimensions)\n", c.A.Manifest.Dim, c.B.Manifest.Dim)
	}
	_, err := fmt.Fprintf(w, "recall@%d:   %.3f (B's %d nearest neighbours of each input among the other %d vs A's)\n",
		c.K, c.Recall, c.K, c.Inputs-1)
	return err
}

// ByteSize prints n in B, KiB or MiB.
func ByteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
}
