package api

import (
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/experiment"
)

// params are the ranking parameters one request runs with: the server's,
// with the overrides of the user's A/B variant on top. Explicit request
// parameters (lexical_weight, mmr_lambda, ...) still win over both.
type params struct {
	variant          experiment.Variant
	lexicalWeight    float64
	vectorWeight     float64
	mmrLambda        float64
	cfWeight         float64
	contentWeight    float64
	popularityWeight float64
	// blend holds the recommendation blend weights the variant sets, by
	// source name; they beat the weights `vitrine train` tuned, which
	// beat the configured ones (otherwise a blend experiment would change
	// nothing once a model is trained).
	blend map[string]float64
}

// params assigns the user to a variant of the running experiment (the
// control for anonymous requests) and applies its overrides.
func (s *Server) params(userID string) params {
	v := s.cfg.Experiment.Assign(userID)
	p := params{variant: v, lexicalWeight: s.cfg.LexicalWeight, vectorWeight: s.cfg.VectorWeight, mmrLambda: s.cfg.MMRLambda,
		cfWeight: s.cfg.CFWeight, contentWeight: s.cfg.ContentWeight, popularityWeight: s.cfg.PopularityWeight}
	for name, dst := range map[string]*float64{"lexical_weight": &p.lexicalWeight, "vector_weight": &p.vectorWeight, "mmr_lambda": &p.mmrLambda} {
		if x, ok := v.Override(name); ok {
			*dst = x
		}
	}
	for name, src := range map[string]struct {
		key string
		dst *float64
	}{"cf_weight": {"collaborative", &p.cfWeight}, "content_weight": {"content", &p.contentWeight}, "popularity_weight": {"popularity", &p.popularityWeight}} {
		if x, ok := v.Override(name); ok {
			*src.dst = x
			if p.blend == nil {
				p.blend = map[string]float64{}
			}
			p.blend[src.key] = x
		}
	}
	return p
}

// configuredBlend is the configured blend weights, by source.
func (p params) configuredBlend() map[string]float64 {
	return map[string]float64{"collaborative": p.cfWeight, "content": p.contentWeight, "popularity": p.popularityWeight}
}

// userID checks a user id given by a client (a query parameter, a form
// field or a JSON field): ids are at most catalog.MaxIDLength bytes, as
// events require.
func userID(field, id string) (string, error) {
	if len(id) > catalog.MaxIDLength {
		return "", fieldProblem(field, fmt.Sprintf("is longer than %d bytes", catalog.MaxIDLength))
	}
	return id, nil
}

// userParam reads the optional user_id query parameter.
func userParam(c echo.Context) (string, error) {
	return userID("user_id", c.QueryParam("user_id"))
}
