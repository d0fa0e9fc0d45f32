// Package experiment assigns users to the variants of an A/B test by a
// stable hash, and parses the variants and their parameter overrides from
// configuration strings (so they can be set from YAML and from environment
// variables alike). It is pure: no SQL, no HTTP, no clock.
//
// A user's bucket is SHA-256(experiment name, 0x00, user id) read as a
// number in [0, 1); variants own consecutive slices of [0, 1) in the order
// they are listed, sized by their weights. So the same user gets the same
// variant on every request, in every process and after restarts; renaming
// the experiment reshuffles everyone, independently of any other
// experiment; and raising the last variant's weight (a ramp-up) only moves
// users into it, never out of it. Anonymous requests (no user id) get the
// first variant, the control.
package experiment

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalid marks a variant list or override that cannot be used.
var ErrInvalid = errors.New("invalid experiment")

// Param is a ranking parameter a variant may override, with its range.
type Param struct {
	Name     string
	Min, Max float64
}

// Params are the server parameters a variant may override; each has a
// server.* configuration key of the same name. A function, so no caller
// can change the table for everyone.
func Params() []Param {
	return []Param{
		{"lexical_weight", 0, math.Inf(1)},
		{"vector_weight", 0, math.Inf(1)},
		{"cf_weight", 0, math.Inf(1)},
		{"content_weight", 0, math.Inf(1)},
		{"popularity_weight", 0, math.Inf(1)},
		{"mmr_lambda", 0, 1},
	}
}

// Variant is one arm of an experiment.
type Variant struct {
	Name   string
	Weight float64
	// Overrides replace server parameters (by Param name) for the users
	// assigned to this variant.
	Overrides map[string]float64
}

// Override returns the variant's value of a parameter, if it sets one.
func (v Variant) Override(name string) (float64, bool) {
	x, ok := v.Overrides[name]
	return x, ok
}

// Experiment is a named A/B test. The first variant is the control.
type Experiment struct {
	Name     string
	Variants []Variant
}

// Parse builds an experiment from its configuration strings:
//
//	variants:  "control:50,treatment:50"   (name:weight, comma separated)
//	overrides: "treatment.vector_weight=2,treatment.mmr_lambda=0.7"
//
// Weights are non-negative numbers (not necessarily summing to 100) with
// at least one positive. An empty name means no experiment: Parse returns
// nil, and then variants and overrides must be empty too.
func Parse(name, variants, overrides string) (*Experiment, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		if strings.TrimSpace(variants) != "" || strings.TrimSpace(overrides) != "" {
			return nil, fmt.Errorf("%w: variants or overrides given without an experiment name", ErrInvalid)
		}
		return nil, nil
	}
	vs, err := ParseVariants(variants)
	if err != nil {
		return nil, err
	}
	e := &Experiment{Name: name, Variants: vs}
	if err := e.parseOverrides(overrides); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseVariants reads "name:weight,name:weight".
func ParseVariants(s string) ([]Variant, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: no variants (want e.g. \"control:50,treatment:50\")", ErrInvalid)
	}
	var out []Variant
	total := 0.0
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, w, ok := strings.Cut(item, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: variant %q is not name:weight", ErrInvalid, item)
		}
		if !validName(name) {
			return nil, fmt.Errorf("%w: variant name %q may hold only letters, digits, '-' and '_'", ErrInvalid, name)
		}
		weight, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
		if err != nil || weight < 0 || math.IsNaN(weight) || math.IsInf(weight, 0) {
			return nil, fmt.Errorf("%w: variant %q has weight %q, want a non-negative number", ErrInvalid, name, strings.TrimSpace(w))
		}
		if slices.ContainsFunc(out, func(v Variant) bool { return v.Name == name }) {
			return nil, fmt.Errorf("%w: variant %q listed twice", ErrInvalid, name)
		}
		out = append(out, Variant{Name: name, Weight: weight})
		total += weight
	}
	if total <= 0 {
		return nil, fmt.Errorf("%w: every variant has weight 0", ErrInvalid)
	}
	return out, nil
}

// parseOverrides reads "variant.param=value,…" into the variants.
func (e *Experiment) parseOverrides(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		key, val, ok := strings.Cut(item, "=")
		vname, pname, ok2 := strings.Cut(strings.TrimSpace(key), ".")
		if !ok || !ok2 {
			return fmt.Errorf("%w: override %q is not variant.parameter=value", ErrInvalid, item)
		}
		i := slices.IndexFunc(e.Variants, func(v Variant) bool { return v.Name == vname })
		if i < 0 {
			return fmt.Errorf("%w: override %q names variant %q, which is not listed", ErrInvalid, item, vname)
		}
		params := Params()
		pi := slices.IndexFunc(params, func(p Param) bool { return p.Name == pname })
		if pi < 0 {
			return fmt.Errorf("%w: override %q: unknown parameter %q (want one of %s)", ErrInvalid, item, pname, paramNames())
		}
		p := params[pi]
		x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || math.IsNaN(x) || x < p.Min || x > p.Max {
			return fmt.Errorf("%w: override %q: %s must be a number from %g to %g", ErrInvalid, item, pname, p.Min, p.Max)
		}
		if e.Variants[i].Overrides == nil {
			e.Variants[i].Overrides = map[string]float64{}
		}
		e.Variants[i].Overrides[pname] = x
	}
	return nil
}

func paramNames() string {
	params := Params()
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Control is the first variant: the one anonymous requests get and the
// others are compared with.
func (e *Experiment) Control() Variant {
	if e == nil || len(e.Variants) == 0 {
		return Variant{}
	}
	return e.Variants[0]
}

// Assign returns the user's variant: the same for the same experiment and
// user id, always. An empty user id gets the control; a nil experiment
// gives the zero Variant (no experiment running).
func (e *Experiment) Assign(userID string) Variant {
	if e == nil || len(e.Variants) == 0 {
		return Variant{}
	}
	if userID == "" {
		return e.Control()
	}
	weights := make([]float64, len(e.Variants))
	for i, v := range e.Variants {
		weights[i] = v.Weight
	}
	return e.Variants[Pick(weights, Bucket(e.Name, userID))]
}

// Bucket hashes an experiment name and a user id to a number in [0, 1),
// uniformly distributed and independent across experiment names.
func Bucket(experiment, userID string) float64 {
	h := sha256.New()
	h.Write([]byte(experiment))
	h.Write([]byte{0})
	h.Write([]byte(userID))
	var sum [sha256.Size]byte
	u := binary.BigEndian.Uint64(h.Sum(sum[:0])[:8])
	return float64(u>>11) / (1 << 53) // 53 bits: exact in a float64, < 1
}

// Pick returns the index of the weighted slice of [0, 1) that holds u:
// slice i spans weights[i]/sum(weights). Zero-weight slices are never
// picked. weights must have a positive sum.
func Pick(weights []float64, u float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := u * total
	acc := 0.0
	last := 0
	for i, w := range weights {
		if w <= 0 {
			continue
		}
		acc += w
		last = i
		if x < acc {
			return i
		}
	}
	return last // rounding at the top end
}

// Describe says "control 50% (no overrides), treatment 50%
// (vector_weight=2)".
func (e *Experiment) Describe() string {
	total := 0.0
	for _, v := range e.Variants {
		total += v.Weight
	}
	parts := make([]string, len(e.Variants))
	for i, v := range e.Variants {
		var ov []string
		for k, x := range v.Overrides {
			ov = append(ov, fmt.Sprintf("%s=%g", k, x))
		}
		sort.Strings(ov)
		desc := "no overrides"
		if len(ov) > 0 {
			desc = strings.Join(ov, ", ")
		}
		parts[i] = fmt.Sprintf("%s %.4g%% (%s)", v.Name, 100*v.Weight/total, desc)
	}
	return strings.Join(parts, ", ")
}
