package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/internal/config"
)

// FusionFlags are the fusion overrides of a command that builds a vector
// space: --strategy, a --MODALITY-weight per modality and --reduce.
type FusionFlags struct {
	strategy string
	weights  [3]float64 // text, image, audio; negative: not given
	reduce   int        // negative: not given
}

var fusionModalities = [3]string{"text", "image", "audio"}

// Register adds the flags to cmd.
func (f *FusionFlags) Register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.strategy, "strategy", "", "fusion strategy: weighted_concat or weighted_mean (default fusion.strategy)")
	for i, m := range fusionModalities {
		cmd.Flags().Float64Var(&f.weights[i], m+"-weight", -1, fmt.Sprintf("fusion weight of the %s model (default fusion.%s_weight)", m, m))
	}
	cmd.Flags().IntVar(&f.reduce, "reduce", -1, "reduce the fused vectors to this many dimensions with a PCA fitted on a sample of up to 20,000 of them; 0 keeps them full (default fusion.reduce)")
}

// Apply overrides c with the flags that were given.
func (f *FusionFlags) Apply(c *config.Fusion) {
	if f.strategy != "" {
		c.Strategy = f.strategy
	}
	for i, dst := range [3]*float64{&c.TextWeight, &c.ImageWeight, &c.AudioWeight} {
		if f.weights[i] >= 0 {
			*dst = f.weights[i]
		}
	}
	if f.reduce >= 0 {
		c.Reduce = f.reduce
	}
}
