package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/internal/config"
)

// FusionFlags are the fusion overrides of a command that builds a vector
// space: --strategy and a --MODALITY-weight per modality.
type FusionFlags struct {
	strategy string
	weights  [3]float64 // text, image, audio; negative: not given
}

var fusionModalities = [3]string{"text", "image", "audio"}

// Register adds the flags to cmd.
func (f *FusionFlags) Register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.strategy, "strategy", "", "fusion strategy: weighted_concat or weighted_mean (default fusion.strategy)")
	for i, m := range fusionModalities {
		cmd.Flags().Float64Var(&f.weights[i], m+"-weight", -1, fmt.Sprintf("fusion weight of the %s model (default fusion.%s_weight)", m, m))
	}
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
}
