package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/models/compare"
	"github.com/vitrinehq/vitrine/models/quantize"
	"github.com/vitrinehq/vitrine/models/verify"
)

func newModelsQuantizeCmd(a *app) *cobra.Command {
	var (
		outDir                 string
		perTensor, reduceRange bool
		minElements            int
	)
	cmd := &cobra.Command{
		Use:   "quantize NAME",
		Short: "Write an int8 copy of a model (dynamic quantisation of its MatMul/Gemm weights) with its manifest",
		Long: `Quantize reads the prepared graph of model NAME (a manifest name, or the path
of a manifest file) from the model directory and writes NAME-int8: every
MatMul or Gemm whose weight is a constant fp32 matrix becomes ONNX Runtime's
DynamicQuantizeMatMul, with the weight stored as int8 and one float scale
per output column, and the activation quantised to uint8 at run time.
Embeddings, normalisation, softmax, convolutions and attention's
activation-by-activation products stay fp32; the output lists them and why.

The output directory (--out-dir, default the model directory) receives
NAME-int8.yaml and NAME-int8/VERSION/ with the quantised graph and a copy of
the model's other files, pinned by sha256. The manifest keeps NAME's
tensors, preprocessing, pooling and dimension, so 'vitrine models compare
NAME DIR/NAME-int8.yaml --inputs FILE' can measure what the compression
costs. Output is deterministic: the same model gives the same bytes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, dir, err := a.modelArg(args[0])
			if err != nil {
				return err
			}
			if outDir == "" {
				outDir = a.cfg.ModelDir()
			}
			var opts []quantize.Option
			if perTensor {
				opts = append(opts, quantize.WithPerTensor())
			}
			if reduceRange {
				opts = append(opts, quantize.WithReduceRange())
			}
			if minElements > 0 {
				opts = append(opts, quantize.WithMinElements(minElements))
			}
			res, err := quantize.Install(cmd.Context(), m, dir, outDir, opts...)
			if err != nil {
				return err
			}
			return res.Text(cmd.OutOrStdout(), m)
		},
	}
	cmd.Flags().StringVar(&outDir, "out-dir", "", "directory for NAME-int8.yaml and NAME-int8/VERSION/ (default: the model directory)")
	cmd.Flags().BoolVar(&perTensor, "per-tensor", false, "one scale per weight instead of one per output column")
	cmd.Flags().BoolVar(&reduceRange, "reduce-range", false, "7-bit weights, for x86 CPUs with AVX2 but no VNNI, whose u8·s8 products can saturate")
	cmd.Flags().IntVar(&minElements, "min-elements", 0, "leave weights with fewer values in fp32")
	return cmd
}

// modelArg resolves a model argument (verify.Resolve) against the
// configured manifests and model directory.
func (a *app) modelArg(arg string) (models.Manifest, string, error) {
	return verify.Resolve(arg, a.cfg.Models.Manifests, a.cfg.ModelDir())
}

func newModelsCompareCmd(a *app) *cobra.Command {
	var (
		inputs         string
		batch, k, runs int
	)
	cmd := &cobra.Command{
		Use:   "compare A B --inputs FILE",
		Short: "Compare two models of one modality on the same inputs: size, speed, embedding agreement, neighbours",
		Long: `Compare loads models A and B (manifest names, or manifest file paths such as
the NAME-int8.yaml that 'vitrine models quantize' writes) and encodes every
input of FILE with both: one text per line for text models, one file path
per line (relative to FILE's directory) for image and audio models. Blank
lines are skipped.

It reports each model's graph file size and the ratio B/A; items/s of each
(the median of --runs passes over all inputs in batches of --batch, A and B
alternating so neither gains from running second, after a warm-up batch
each) and the ratio B/A; the mean and minimum cosine between A's and B's
embedding of each input (when both have one dimension); and recall@K: for
each input as a query, the share of A's K nearest other inputs (by cosine
of A's embeddings) that are also among B's K nearest, averaged.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch < 1 || k < 1 || runs < 1 {
				return errors.New("--batch, --k and --runs must be positive")
			}
			var sides [2]compare.Model
			for i, arg := range args {
				m, dir, err := a.modelArg(arg)
				if err != nil {
					return err
				}
				sides[i] = compare.Model{Manifest: m, Dir: dir}
			}
			in, err := compare.ReadInputs(inputs, sides[0].Manifest.Modality)
			if err != nil {
				return err
			}
			rt, err := a.runtime(cmd.Context())
			if err != nil {
				return err
			}
			defer rt.Close()
			c, err := compare.Run(cmd.Context(), rt, sides[0], sides[1], in, compare.WithBatch(batch), compare.WithRuns(runs), compare.WithK(k))
			if err != nil {
				return err
			}
			return c.Text(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&inputs, "inputs", "", "file of inputs: one text, or one image/audio path, per line (required)")
	cmd.Flags().IntVar(&batch, "batch", 32, "items per model run")
	cmd.Flags().IntVar(&k, "k", 10, "neighbours compared per query for recall@K")
	cmd.Flags().IntVar(&runs, "runs", 3, "timed passes over all inputs per model (the median is reported)")
	_ = cmd.MarkFlagRequired("inputs")
	return cmd
}
