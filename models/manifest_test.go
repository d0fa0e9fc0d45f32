package models

import (
	"errors"
	"strings"
	"testing"
)

// TestLoadRepoManifests loads the manifests Vitrine ships: they must all
// validate, and the runtime manifest must stay out of Load's way.
func TestLoadRepoManifests(t *testing.T) {
	ms, err := Load(".")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := map[string]struct {
		graph    string
		modality Modality
		dim      int
	}{
		"glove-100d":                   {"model.onnx", Text, 100},
		"mobilenetv2-int8":             {"model.onnx", Image, 1280},
		"mobilenetv2-int8-gem":         {"model.onnx", Image, 1280},
		"mobilenetv2-int8-flip":        {"model.onnx", Image, 1280},
		"mobilenetv2-int8-gem-flip":    {"model.onnx", Image, 1280},
		"mobilenetv2-int8-crops":       {"model.onnx", Image, 1280},
		"mobilenetv2-int8-crops-flip":  {"model.onnx", Image, 1280},
		"mobilenetv2-int8-centre":      {"model.onnx", Image, 1280},
		"mobilenetv2-int8-centre-flip": {"model.onnx", Image, 1280},
		"speech-embedding":             {"embedding_model.onnx", Audio, 96},
	}
	if len(ms) != len(want) {
		t.Fatalf("Load found %d manifests, want %d", len(ms), len(want))
	}
	for _, m := range ms {
		w, ok := want[m.Name]
		if !ok {
			t.Errorf("unexpected manifest %q", m.Name)
			continue
		}
		if m.Graph() != w.graph || m.Modality != w.modality || m.Dim != w.dim {
			t.Errorf("%s: graph %q modality %s dim %d, want %q %s %d", m.Name, m.Graph(), m.Modality, m.Dim, w.graph, w.modality, w.dim)
		}
		if m.Outputs["embedding"] == "" {
			t.Errorf("%s: no embedding output role", m.Name)
		}
	}
	rts, err := LoadRuntimes("runtime")
	if err != nil {
		t.Fatalf("LoadRuntimes: %v", err)
	}
	// Glob order: the CPU build, then the CUDA build with its providers.
	if len(rts) != 2 || rts[0].Name != "onnxruntime-cpu" || rts[0].File.Name != "libonnxruntime.so.1" || rts[0].Platform != "linux/amd64" || rts[0].GPU ||
		rts[1].Name != "onnxruntime-cuda" || rts[1].File.Name != "libonnxruntime.so.1" || !rts[1].GPU || len(rts[1].Providers) != 2 {
		t.Fatalf("runtime manifests = %+v", rts)
	}
}

func validManifest() Manifest {
	sha := strings.Repeat("ab", 32)
	return Manifest{
		Name: "m", Version: "1", Modality: Text, Family: "static_embedding",
		Files: []File{
			{Name: "model.onnx", SHA256: sha, Source: Source{Local: "x.json", SHA256: sha}, Transform: &Transform{Op: OpGloveToONNX, Params: map[string]any{"vocab_size": 10}}},
			{Name: "tokenizer.json", SHA256: sha, Source: Source{Local: "x.json", SHA256: sha}, Transform: &Transform{Op: OpGloveToTokenizer, Params: map[string]any{"vocab_size": 10}}},
		},
		Inputs:     map[string]string{"input_ids": "input_ids"},
		Outputs:    map[string]string{"embedding": "sentence_embedding"},
		Preprocess: Preprocess{Text: &TextPrep{Tokenizer: "tokenizer.json", MaxLength: 8}},
		Pooling:    PoolNone, Dim: 4, Normalize: "l2",
	}
}

func TestValidateNamesBadField(t *testing.T) {
	if err := validManifest().Validate(); err != nil {
		t.Fatalf("base manifest: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(m *Manifest)
		field  string
	}{
		{"no name", func(m *Manifest) { m.Name = "" }, "name"},
		{"no version", func(m *Manifest) { m.Version = "" }, "version"},
		{"bad modality", func(m *Manifest) { m.Modality = "smell" }, "modality"},
		{"no files", func(m *Manifest) { m.Files = nil }, "files"},
		{"path in file name", func(m *Manifest) { m.Files[0].Name = "sub/model.onnx" }, "files[0].name"},
		{"file listed twice", func(m *Manifest) { m.Files[1].Name = "model.onnx" }, "files[1].name"},
		{"short sha256", func(m *Manifest) { m.Files[0].SHA256 = "abc" }, "files[0].sha256"},
		{"upper-case sha256", func(m *Manifest) { m.Files[0].SHA256 = strings.Repeat("AB", 32) }, "files[0].sha256"},
		{"no source", func(m *Manifest) { m.Files[0].Source = Source{SHA256: m.Files[0].SHA256} }, "files[0].source"},
		{"no source sha256", func(m *Manifest) { m.Files[1].Source.SHA256 = "" }, "files[1].source.sha256"},
		{"absolute local", func(m *Manifest) { m.Files[0].Source.Local = "/etc/passwd" }, "files[0].source.local"},
		{"local outside", func(m *Manifest) { m.Files[0].Source.Local = "../../x" }, "files[0].source.local"},
		{"mirror outside", func(m *Manifest) { m.Files[0].Source.Mirror = "../x" }, "files[0].source.mirror"},
		{"npm without path", func(m *Manifest) { m.Files[0].Source.NPM = &NPMSource{Package: "p", Version: "1"} }, "files[0].source.npm"},
		{"npm bad tarball sha", func(m *Manifest) {
			m.Files[0].Source.NPM = &NPMSource{Package: "p", Version: "1", Path: "package/x", TarballSHA256: "nope"}
		}, "files[0].source.npm.tarball_sha256"},
		{"gomod without version", func(m *Manifest) { m.Files[0].Source.GoMod = &GoModSrc{Module: "example.com/m", Path: "x"} }, "files[0].source.gomod"},
		{"ftp url", func(m *Manifest) { m.Files[0].Source.URL = "ftp://example.com/x" }, "files[0].source.url"},
		{"unknown transform", func(m *Manifest) { m.Files[0].Transform.Op = "quantize" }, "files[0].transform.op"},
		{"glove vocab disagrees", func(m *Manifest) { m.Files[1].Transform.Params["vocab_size"] = 11 }, "files[1].transform.params.vocab_size"},
		{"no graph", func(m *Manifest) { m.Files[0].Name = "model.bin" }, "files"},
		{"zero dim", func(m *Manifest) { m.Dim = 0 }, "dim"},
		{"bad normalize", func(m *Manifest) { m.Normalize = "l1" }, "normalize"},
		{"bad pooling", func(m *Manifest) { m.Pooling = "max" }, "pooling"},
		{"pooling_p without gem", func(m *Manifest) { m.PoolingP = 3 }, "pooling_p"},
		{"flip of a text model", func(m *Manifest) { m.Augment = []string{AugmentFlip} }, "augment[0]"},
		{"crops of a text model", func(m *Manifest) { m.Augment = []string{AugmentCrops} }, "augment[0]"},
		{"unknown augment", func(m *Manifest) { m.Modality, m.Augment = Image, []string{AugmentFlip, "rotate"} }, "augment[1]"},
		{"no inputs", func(m *Manifest) { m.Inputs = nil }, "inputs"},
		{"no outputs", func(m *Manifest) { m.Outputs = map[string]string{} }, "outputs"},
		{"tokenizer not a file", func(m *Manifest) { m.Preprocess.Text.Tokenizer = "vocab.txt" }, "preprocess.text.tokenizer"},
		{"mel model not a file", func(m *Manifest) { m.Preprocess.Audio = &AudioPrep{MelModel: "mel.onnx"} }, "preprocess.audio.mel_model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validManifest()
			tt.mutate(&m)
			err := m.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			if !errors.Is(err, ErrManifest) {
				t.Errorf("error %v is not ErrManifest", err)
			}
			if !strings.Contains(err.Error(), ": "+tt.field+": ") {
				t.Errorf("error does not name field %q:\n%v", tt.field, err)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // each must appear in the error
	}{
		{"testdata/unknown-field.yaml", []string{"dimension", "not found"}},
		{"testdata/wrong-type.yaml", []string{"lots"}},
		// Every problem is reported at once, each naming its field.
		{"testdata/invalid.yaml", []string{"modality:", "files[0].name:", "files[0].sha256:", "files[0].source:", "files[0].source.sha256:", "pooling:", "dim:", "normalize:"}},
		{"testdata/missing.yaml", []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := LoadFile(tt.file)
			if err == nil {
				t.Fatal("LoadFile accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestRuntimeValidate(t *testing.T) {
	base := func() Runtime {
		sha := strings.Repeat("cd", 32)
		return Runtime{Name: "rt", Version: "1", Platform: "linux/amd64", File: File{
			Name: "lib.so", SHA256: sha, Source: Source{URL: "https://example.com/lib.so", SHA256: sha},
		}}
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("base runtime: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(r *Runtime)
		field  string
	}{
		{"no platform", func(r *Runtime) { r.Platform = "" }, "platform"},
		{"platform without arch", func(r *Runtime) { r.Platform = "linux" }, "platform"},
		{"path in name", func(r *Runtime) { r.File.Name = "lib/lib.so" }, "file.name"},
		{"transform", func(r *Runtime) { r.File.Transform = &Transform{Op: OpAddOutputs} }, "file.transform"},
		{"bad sha", func(r *Runtime) { r.File.SHA256 = "x" }, "file.sha256"},
		{"no source", func(r *Runtime) { r.File.Source.URL = "" }, "file.source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.mutate(&r)
			err := r.Validate()
			if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), ": "+tt.field+": ") {
				t.Errorf("want ErrManifest naming %q, got %v", tt.field, err)
			}
		})
	}
}
