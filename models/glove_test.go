package models

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/onnxpb"
)

// tinyVector is the vector testdata/wink-tiny*.json give the word at
// frequency rank i.
func tinyVector(i int) []float32 {
	return []float32{float32(i) + 0.5, -float32(i), float32(i) * 0.25, 1}
}

// tinyRank is each word's rank in testdata/wink-tiny*.json.
var tinyRank = map[string]int{
	"the": 0, ",": 1, "e-mail": 2, "cat": 3, "Dog": 4, `"`: 5, "café": 6, "kitten": 7,
	"n't": 8, "table": 9, "dress": 10, "skirt": 11, "u.s.": 12, "zebra": 13,
}

func TestParseWink(t *testing.T) {
	tests := []struct {
		file  string
		vocab int
		want  []string
	}{
		// "e-mail", "Dog", "n't" and "u.s." cannot come out of a lower-casing
		// BERT pre-tokenizer, so they are passed over.
		{"testdata/wink-tiny.json", 6, []string{"the", ",", "cat", `"`, "café", "kitten"}},
		{"testdata/wink-tiny.json", 100, []string{"the", ",", "cat", `"`, "café", "kitten", "table", "dress", "skirt", "zebra"}},
		{"testdata/wink-tiny.json", 1, []string{"the"}},
		// Same data with vectors before words, reversed, indented and with
		// an extra key: the slow path must give the same table.
		{"testdata/wink-tiny-vectors-first.json", 6, []string{"the", ",", "cat", `"`, "café", "kitten"}},
		{"testdata/wink-tiny-vectors-first.json", 100, []string{"the", ",", "cat", `"`, "café", "kitten", "table", "dress", "skirt", "zebra"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fh, err := os.Open(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			tab, err := parseWink(context.Background(), fh, tt.vocab)
			if err != nil {
				t.Fatal(err)
			}
			if tab.dim != 4 || !slices.Equal(tab.words, tt.want) {
				t.Fatalf("dim %d words %q, want 4 %q", tab.dim, tab.words, tt.want)
			}
			for i, w := range tab.words {
				if got := tab.vecs[i*4 : i*4+4]; !slices.Equal(got, tinyVector(tinyRank[w])) {
					t.Errorf("vector of %q = %v, want %v", w, got, tinyVector(tinyRank[w]))
				}
			}
			if !slices.Equal(tab.unk, []float32{0.5, 0.5, 0.5, 0.5}) {
				t.Errorf("unk %v", tab.unk)
			}
		})
	}
}

func TestParseWinkErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"truncated", `{"dimensions":2,"vectors":{"a":[1,2,3,0]`, "unexpected EOF"},
		{"not an object", `["a"]`, `want '{'`},
		{"dimensions after vectors", `{"vectors":{"a":[1,2,3,0]},"dimensions":2}`, `"dimensions" must come before "vectors"`},
		{"short vector", `{"dimensions":2,"vectors":{"a":[1,0]}}`, `vectors["a"]`},
		{"string in vector", `{"dimensions":2,"vectors":{"a":[1,"x",3,0]}}`, "want a number"},
		{"index is not the word's place", `{"dimensions":2,"words":["a","b"],"vectors":{"a":[1,2,3,1],"b":[1,2,3,0]}}`, "not its place in words"},
		{"shared index", `{"dimensions":2,"vectors":{"a":[1,2,3,0],"b":[1,2,3,0]}}`, "share index 0"},
		{"kept word without vector", `{"dimensions":2,"words":["a","b"],"vectors":{"a":[1,2,3,0]}}`, "have vectors"},
		{"no vectors", `{"dimensions":2,"vectors":{}}`, "no vectors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseWink(context.Background(), strings.NewReader(tt.doc), 10)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want error with %q, got %v", tt.want, err)
			}
		})
	}
}

func TestWordLevelReachable(t *testing.T) {
	tests := []struct {
		word string
		want bool
	}{
		{"cat", true}, {"café", true}, {"1990", true}, {",", true}, {`"`, true}, {"$", true}, {"«", true},
		{"e-mail", false}, {"n't", false}, {"u.s.", false}, {"1,000", false}, {"Dog", false},
		{"two words", false}, {"", false}, {"\xff", false},
	}
	for _, tt := range tests {
		if got := WordLevelReachable(tt.word); got != tt.want {
			t.Errorf("WordLevelReachable(%q) = %v, want %v", tt.word, got, tt.want)
		}
	}
}

// hfTokenizer is the part of a Hugging Face tokenizer.json the test reads.
type hfTokenizer struct {
	Padding struct {
		PadID    int    `json:"pad_id"`
		PadToken string `json:"pad_token"`
	} `json:"padding"`
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer   struct{ Type string } `json:"normalizer"`
	PreTokenizer struct{ Type string } `json:"pre_tokenizer"`
	Model        struct {
		Type     string         `json:"type"`
		UnkToken string         `json:"unk_token"`
		Vocab    map[string]int `json:"vocab"`
	} `json:"model"`
}

// TestGloveFetch runs both GloVe transforms through Fetch on a real
// wink-format file and reads the results back: the ONNX graph's tensors
// and embedding rows, and the tokenizer's word ids.
func TestGloveFetch(t *testing.T) {
	m, err := LoadFile("testdata/glove-tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	modelDir := t.TempDir()
	res, err := NewFetcher(WithModelDir(modelDir)).Fetch(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || !strings.HasPrefix(res[0].Source, "local ") || res[1].Source != "GloVe table parsed earlier in this run" {
		t.Fatalf("results %+v: want the JSON parsed once, for the first file", res)
	}

	// tokenizer.json
	b, err := os.ReadFile(m.Path(modelDir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tok hfTokenizer
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatalf("tokenizer.json is not JSON: %v", err)
	}
	wantVocab := map[string]int{"[PAD]": 0, "[UNK]": 1, "the": 2, ",": 3, "cat": 4, `"`: 5, "café": 6, "kitten": 7}
	if len(tok.Model.Vocab) != len(wantVocab) {
		t.Errorf("vocab %v, want %v", tok.Model.Vocab, wantVocab)
	}
	for w, id := range wantVocab {
		if got, ok := tok.Model.Vocab[w]; !ok || got != id {
			t.Errorf("vocab[%q] = %d, %v; want %d", w, got, ok, id)
		}
	}
	if tok.Model.Type != "WordLevel" || tok.Model.UnkToken != "[UNK]" || tok.Padding.PadID != 0 || tok.Padding.PadToken != "[PAD]" ||
		tok.Normalizer.Type != "Lowercase" || tok.PreTokenizer.Type != "BertPreTokenizer" || len(tok.AddedTokens) != 2 || !tok.AddedTokens[1].Special {
		t.Errorf("tokenizer settings %+v", tok)
	}

	// model.onnx
	b, err = os.ReadFile(m.Path(modelDir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	g := parseModel(t, b).Graph
	for i, want := range []struct {
		name string
		elem onnxpb.TensorProto_DataType
		dims []string
	}{{"input_ids", onnxpb.TensorProto_INT64, []string{"batch", "sequence"}}, {"attention_mask", onnxpb.TensorProto_INT64, []string{"batch", "sequence"}}} {
		in := g.Input[i]
		if in.GetName() != want.name || in.GetType().GetTensorType().GetElemType() != int32(want.elem) || !slices.Equal(dims(in), want.dims) {
			t.Errorf("input %d = %s %v", i, in.GetName(), dims(in))
		}
	}
	if len(g.Output) != 1 || g.Output[0].GetName() != "sentence_embedding" || !slices.Equal(dims(g.Output[0]), []string{"batch", "4"}) {
		t.Errorf("outputs %v", g.Output)
	}
	var ops []string
	for _, n := range g.Node {
		ops = append(ops, n.GetOpType())
	}
	if !slices.Equal(ops, []string{"Gather", "Cast", "Unsqueeze", "Mul", "ReduceSum", "ReduceSum", "Max", "Div"}) {
		t.Errorf("ops %v", ops)
	}
	var emb *onnxpb.TensorProto
	for _, in := range g.Initializer {
		if in.GetName() == "embeddings" {
			emb = in
		}
	}
	if emb == nil || !slices.Equal(emb.Dims, []int64{8, 4}) || len(emb.RawData) != 8*4*4 {
		t.Fatalf("embeddings initializer %v", emb)
	}
	row := func(id int) []float32 {
		out := make([]float32, 4)
		for j := range out {
			out[j] = math.Float32frombits(binary.LittleEndian.Uint32(emb.RawData[(id*4+j)*4:]))
		}
		return out
	}
	if !slices.Equal(row(0), []float32{0, 0, 0, 0}) || !slices.Equal(row(1), []float32{0.5, 0.5, 0.5, 0.5}) {
		t.Errorf("padding row %v, unknown row %v", row(0), row(1))
	}
	for w, id := range wantVocab {
		if id < 2 {
			continue
		}
		if !slices.Equal(row(id), tinyVector(tinyRank[w])) {
			t.Errorf("row %d (%q) = %v, want %v", id, w, row(id), tinyVector(tinyRank[w]))
		}
	}
}
