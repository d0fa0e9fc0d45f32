package onnxgen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Architectures a Preset builds, as the generated graphs' metadata names
// them.
const (
	ArchBERT       = "bert"
	ArchViT        = "vit"
	ArchCLIPText   = "clip_text"
	ArchCLIPVision = "clip_vision"
)

// Preset is a generated model at the size of a published one: the same
// shapes and operators, seeded random weights. It is for measuring speed;
// its vectors mean nothing.
type Preset struct {
	// Name is how commands name it (minilm, bert-base, vit-b16,
	// clip-b32-text, clip-b32-vision).
	Name string
	// Like is the published model whose shapes it has.
	Like string
	// Arch picks which of the configs below is used.
	Arch       string
	BERT       BERTConfig
	ViT        ViTConfig
	CLIPText   CLIPTextConfig
	CLIPVision CLIPVisionConfig
}

// Presets are the sizes Vitrine's users run, in report order.
func Presets() []Preset {
	bertBase := BERTConfig{VocabSize: 30522, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, MaxPositions: 512, TypeVocabSize: 2}
	minilm := bertBase
	minilm.Hidden, minilm.Layers, minilm.Intermediate = 384, 6, 1536
	return []Preset{
		{Name: "minilm", Like: "sentence-transformers/all-MiniLM-L6-v2", Arch: ArchBERT, BERT: minilm},
		{Name: "bert-base", Like: "google-bert/bert-base-uncased", Arch: ArchBERT, BERT: bertBase},
		{Name: "vit-b16", Like: "google/vit-base-patch16-224", Arch: ArchViT,
			ViT: ViTConfig{ImageSize: 224, PatchSize: 16, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072}},
		{Name: "clip-b32-text", Like: "openai/clip-vit-base-patch32 (text tower)", Arch: ArchCLIPText,
			CLIPText: CLIPTextConfig{VocabSize: 49408, Hidden: 512, Layers: 12, Heads: 8, Intermediate: 2048, MaxPositions: 77, ProjectionDim: 512}},
		{Name: "clip-b32-vision", Like: "openai/clip-vit-base-patch32 (image tower)", Arch: ArchCLIPVision,
			CLIPVision: CLIPVisionConfig{ImageSize: 224, PatchSize: 32, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, ProjectionDim: 512}},
	}
}

// presetAliases name groups of presets: a CLIP model is its two towers.
var presetAliases = map[string][]string{"clip-b32": {"clip-b32-text", "clip-b32-vision"}}

// PresetNames are the names ParsePresets accepts, aliases included.
func PresetNames() []string {
	var out []string
	for _, p := range Presets() {
		out = append(out, p.Name)
	}
	return append(out, "clip-b32")
}

// ParsePresets reads a comma-separated list of preset names (clip-b32
// stands for both CLIP towers), without repeats, in the order given.
func ParsePresets(list string) ([]Preset, error) {
	all := Presets()
	var out []Preset
	for f := range strings.SplitSeq(list, ",") {
		name := strings.ToLower(strings.TrimSpace(f))
		names, ok := presetAliases[name]
		if !ok {
			names = []string{name}
		}
		for _, n := range names {
			i := slices.IndexFunc(all, func(p Preset) bool { return p.Name == n })
			if i < 0 {
				return nil, fmt.Errorf("%w: no preset %q (want one of %s)", ErrConfig, strings.TrimSpace(f), strings.Join(PresetNames(), ", "))
			}
			if !slices.ContainsFunc(out, func(p Preset) bool { return p.Name == n }) {
				out = append(out, all[i])
			}
		}
	}
	return out, nil
}

// Tiny is the preset at test scale: the same architecture, vocabulary,
// image and patch sizes and projection, with 2 layers of width 32, so a
// unit test can build and run it in milliseconds. Its name gets a -tiny
// suffix.
func (p Preset) Tiny() Preset {
	p.Name += "-tiny"
	p.BERT.Hidden, p.BERT.Layers, p.BERT.Heads, p.BERT.Intermediate = 32, 2, 4, 64
	p.ViT.Hidden, p.ViT.Layers, p.ViT.Heads, p.ViT.Intermediate = 32, 2, 4, 64
	p.CLIPText.Hidden, p.CLIPText.Layers, p.CLIPText.Heads, p.CLIPText.Intermediate = 32, 2, 4, 64
	p.CLIPVision.Hidden, p.CLIPVision.Layers, p.CLIPVision.Heads, p.CLIPVision.Intermediate = 32, 2, 4, 64
	// A 224-pixel image with 16-pixel patches is 197 tokens; keep the
	// patch grid but shrink the picture for the tiny ViT.
	if p.Arch == ArchViT {
		p.ViT.ImageSize = 4 * p.ViT.PatchSize
	}
	return p
}

// Text says whether the preset is a text encoder (else an image one).
func (p Preset) Text() bool { return p.Arch == ArchBERT || p.Arch == ArchCLIPText }

// Hidden is the width of the transformer.
func (p Preset) Hidden() int {
	switch p.Arch {
	case ArchBERT:
		return p.BERT.withDefaults().Hidden
	case ArchViT:
		return p.ViT.withDefaults().Hidden
	case ArchCLIPText:
		return p.CLIPText.withDefaults().Hidden
	}
	return p.CLIPVision.withDefaults().Hidden
}

// MaxPositions is the longest token sequence a text preset takes (0 for
// an image one).
func (p Preset) MaxPositions() int {
	switch p.Arch {
	case ArchBERT:
		return p.BERT.withDefaults().MaxPositions
	case ArchCLIPText:
		return p.CLIPText.withDefaults().MaxPositions
	}
	return 0
}

// ImageSize is the side of the square image an image preset takes (0 for
// a text one).
func (p Preset) ImageSize() int {
	switch p.Arch {
	case ArchViT:
		return p.ViT.withDefaults().ImageSize
	case ArchCLIPVision:
		return p.CLIPVision.withDefaults().ImageSize
	}
	return 0
}

// VocabSize is a text preset's vocabulary (0 for an image one).
func (p Preset) VocabSize() int {
	switch p.Arch {
	case ArchBERT:
		return p.BERT.withDefaults().VocabSize
	case ArchCLIPText:
		return p.CLIPText.withDefaults().VocabSize
	}
	return 0
}

// Params counts the weights a build of the preset holds.
func (p Preset) Params() int64 {
	enc := func(layers, h, inter int) int64 {
		H, I := int64(h), int64(inter)
		perLayer := 4*(H*H+H) + (H*I + I) + (I*H + H) + 2*2*H
		return int64(layers) * perLayer
	}
	switch p.Arch {
	case ArchBERT:
		c := p.BERT.withDefaults()
		h := int64(c.Hidden)
		return int64(c.VocabSize+c.MaxPositions+c.TypeVocabSize)*h + 2*h + enc(c.Layers, c.Hidden, c.Intermediate) + h*h + h
	case ArchViT:
		c := p.ViT.withDefaults()
		h := int64(c.Hidden)
		patch := int64(Channels*c.PatchSize*c.PatchSize)*h + h
		return patch + h + int64(c.Tokens())*h + enc(c.Layers, c.Hidden, c.Intermediate) + 2*h + h*h + h
	case ArchCLIPText:
		c := p.CLIPText.withDefaults()
		h := int64(c.Hidden)
		return int64(c.VocabSize+c.MaxPositions)*h + enc(c.Layers, c.Hidden, c.Intermediate) + 2*h + h*int64(c.ProjectionDim)
	}
	c := p.CLIPVision.withDefaults()
	h := int64(c.Hidden)
	return int64(Channels*c.PatchSize*c.PatchSize)*h + h + int64(c.Tokens())*h + 2*h + enc(c.Layers, c.Hidden, c.Intermediate) + 2*h + h*int64(c.ProjectionDim)
}

// Build generates the preset's graph with weights drawn from seed.
func (p Preset) Build(seed uint64) ([]byte, error) {
	var (
		model []byte
		err   error
	)
	switch p.Arch {
	case ArchBERT:
		c := p.BERT
		c.Seed = seed
		model, _, err = BERT(c)
	case ArchViT:
		c := p.ViT
		c.Seed = seed
		model, _, err = ViT(c)
	case ArchCLIPText:
		c := p.CLIPText
		c.Seed = seed
		model, _, err = CLIPText(c)
	case ArchCLIPVision:
		c := p.CLIPVision
		c.Seed = seed
		model, _, err = CLIPVision(c)
	default:
		return nil, fmt.Errorf("%w: preset %s: unknown architecture %q", ErrConfig, p.Name, p.Arch)
	}
	if err != nil {
		return nil, fmt.Errorf("preset %s: %w", p.Name, err)
	}
	return model, nil
}

// Key names one build of the preset, seed and configuration included, so
// a cached file is reused only when both are unchanged: seed<N>-<first 8
// hex digits of a hash of the configuration>.
func (p Preset) Key(seed uint64) string {
	var cfg any
	switch p.Arch {
	case ArchBERT:
		cfg = p.BERT.withDefaults()
	case ArchViT:
		cfg = p.ViT.withDefaults()
	case ArchCLIPText:
		cfg = p.CLIPText.withDefaults()
	default:
		cfg = p.CLIPVision.withDefaults()
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s %s %+v opset%d", p.Name, p.Arch, cfg, Opset))
	return fmt.Sprintf("seed%d-%s", seed, hex.EncodeToString(sum[:4]))
}
