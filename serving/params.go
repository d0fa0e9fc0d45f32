package serving

import (
	"github.com/vitrinehq/vitrine/experiment"
)

// Assignment names the A/B experiment and variant that served a list
// (both "" when no experiment runs).
type Assignment struct {
	Experiment string
	Variant    string
}

// Params are the ranking parameters one request runs with: the
// configuration's, with the overrides of the user's A/B variant on top.
// Explicit request parameters (a SearchRequest's weights, a Rerank's
// lambda) still win over both.
type Params struct {
	Assignment
	LexicalWeight, VectorWeight, MMRLambda    float64
	CFWeight, ContentWeight, PopularityWeight float64
	// Blend holds the recommendation blend weights the variant sets, by
	// source name; they beat the weights `vitrine train` tuned, which beat
	// the configured ones (otherwise a blend experiment would change
	// nothing once a model is trained).
	Blend map[string]float64
}

// Params assigns the user to a variant of the running experiment (the
// control for anonymous requests) and applies its overrides.
func (s *Service) Params(userID string) Params {
	c := s.cfg
	v := c.Experiment.Assign(userID)
	p := Params{Assignment: assignment(c.Experiment, v), LexicalWeight: c.LexicalWeight, VectorWeight: c.VectorWeight,
		MMRLambda: c.MMRLambda, CFWeight: c.CFWeight, ContentWeight: c.ContentWeight, PopularityWeight: c.PopularityWeight}
	for name, dst := range map[string]*float64{"lexical_weight": &p.LexicalWeight, "vector_weight": &p.VectorWeight, "mmr_lambda": &p.MMRLambda} {
		if x, ok := v.Override(name); ok {
			*dst = x
		}
	}
	for name, src := range map[string]struct {
		key string
		dst *float64
	}{"cf_weight": {sourceCF, &p.CFWeight}, "content_weight": {sourceContent, &p.ContentWeight}, "popularity_weight": {sourcePopularity, &p.PopularityWeight}} {
		if x, ok := v.Override(name); ok {
			*src.dst = x
			if p.Blend == nil {
				p.Blend = map[string]float64{}
			}
			p.Blend[src.key] = x
		}
	}
	return p
}

func assignment(e *experiment.Experiment, v experiment.Variant) Assignment {
	if e == nil {
		return Assignment{}
	}
	return Assignment{Experiment: e.Name, Variant: v.Name}
}

// configuredBlend is the configured blend weights, by source.
func (p Params) configuredBlend() map[string]float64 {
	return map[string]float64{sourceCF: p.CFWeight, sourceContent: p.ContentWeight, sourcePopularity: p.PopularityWeight}
}
