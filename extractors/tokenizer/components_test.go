package tokenizer

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestGPT2Split(t *testing.T) {
	// Expected pieces follow the GPT-2 regex by hand: contractions, an
	// optional single leading space before letters/numbers/other, and
	// whitespace runs that leave their last space to the next word.
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"I'm  fine!!", []string{"I", "'m", " ", " fine", "!!"}},
		{"a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"  hi", []string{" ", " hi"}},
		{"abc123 45", []string{"abc", "123", " 45"}},
		{"don't", []string{"don", "'t"}},
		{"x 's", []string{"x", " '", "s"}},
		{"end  ", []string{"end", "  "}},
		{"café €5", []string{"café", " €", "5"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := gpt2Split(nil, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("gpt2Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestByteLevelPreTokenizer(t *testing.T) {
	tests := []struct {
		name          string
		prefix, regex bool
		in            string
		want          []string
	}{
		// space is byte 0x20, the 33rd non-printable byte: U+0100+32 = Ġ
		{"gpt2", false, true, "Hello world", []string{"Hello", "Ġworld"}},
		{"prefix space", true, true, "Hello", []string{"ĠHello"}},
		{"no regex", false, false, "a b", []string{"aĠb"}},
		// newline 0x0A -> U+0100+10 = Ċ; é -> Ã©
		{"bytes", false, false, "é\n", []string{"Ã©Ċ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newByteLevel(tt.prefix, tt.regex).split(nil, tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPreTokenizers(t *testing.T) {
	split := func(behavior splitBehavior, invert bool) preTokenizer {
		return &regexSplit{literal: "-", behavior: behavior, invert: invert}
	}
	tests := []struct {
		name string
		p    preTokenizer
		in   string
		want []string
	}{
		{"bert punctuation", bertPreTokenizer{}, "a.b  c,d€", []string{"a", ".", "b", "c", ",", "d€"}},
		{"bert ascii symbols are punctuation", bertPreTokenizer{}, "1+1=2", []string{"1", "+", "1", "=", "2"}},
		{"bert unicode punctuation", bertPreTokenizer{}, "a—b", []string{"a", "—", "b"}},
		{"whitespace", whitespacePreTokenizer{}, "hi, you!! ok_1", []string{"hi", ",", "you", "!!", "ok_1"}},
		{"whitespace split", whitespaceSplit{}, " a,b \u3000c ", []string{"a,b", "c"}},
		{"split removed", split(splitRemoved, false), "a--b-", []string{"a", "b"}},
		{"split isolated", split(splitIsolated, false), "a--b", []string{"a", "-", "-", "b"}},
		{"split merged with previous", split(splitMergedWithPrevious, false), "a--b", []string{"a-", "-", "b"}},
		{"split merged with next", split(splitMergedWithNext, false), "a--b", []string{"a", "-", "-b"}},
		{"split contiguous", split(splitContiguous, false), "a--b", []string{"a", "--", "b"}},
		{"split inverted", split(splitRemoved, true), "a--b", []string{"-", "-"}},
		{"sequence", preTokenizerSeq{whitespaceSplit{}, split(splitIsolated, false)}, "a-b c", []string{"a", "-", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.split(nil, tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNormalizers(t *testing.T) {
	build := func(js string) normalizer {
		t.Helper()
		n, err := buildNormalizer(json.RawMessage(js))
		if err != nil {
			t.Fatalf("build %s: %v", js, err)
		}
		return n
	}
	tests := []struct {
		name string
		cfg  string
		in   string
		want string
	}{
		{"bert default", `{"type":"BertNormalizer"}`, "Ünïcode 中x\u200b\x01", "unicode  中 x"},
		// strip_accents:false with lowercase keeps accents (cased-accent models)
		{"bert keep accents", `{"type":"BertNormalizer","strip_accents":false,"lowercase":true}`, "Café", "café"},
		// strip_accents:null with lowercase:false: no stripping
		{"bert cased", `{"type":"BertNormalizer","strip_accents":null,"lowercase":false}`, "Café", "Café"},
		{"bert clean off", `{"type":"BertNormalizer","clean_text":false,"handle_chinese_chars":false}`, "A\tB中", "a\tb中"},
		{"lowercase", `{"type":"Lowercase"}`, "ÀB İ", "àb i\u0307"},
		{"nfd", `{"type":"NFD"}`, "é", "e\u0301"},
		{"nfc", `{"type":"NFC"}`, "e\u0301", "é"},
		{"nfkc", `{"type":"NFKC"}`, "ﬁ①", "fi1"},
		{"nfkd", `{"type":"NFKD"}`, "ﬁé", "fie\u0301"},
		{"strip accents", `{"type":"StripAccents"}`, "e\u0301a", "ea"},
		{"replace string", `{"type":"Replace","pattern":{"String":"''"},"content":"\""}`, "a''b", "a\"b"},
		{"sequence", `{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"StripAccents"},{"type":"Lowercase"}]}`, "CRÈME", "creme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := build(tt.cfg).normalize(tt.in); got != tt.want {
				t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCompileHFRegex(t *testing.T) {
	re, err := compileHFRegex(`\s+|[^\s\w]+|\d`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want []string
	}{
		// \u00a0 and \u3000 are whitespace in Oniguruma but not in RE2's \s
		{"a\u00a0\u3000b", []string{"\u00a0\u3000"}},
		// é is \w in Unicode, so not matched by [^\s\w]
		{"é!", []string{"!"}},
		// Arabic-Indic digit three is \d in Unicode
		{"\u0663", []string{"\u0663"}},
	}
	for _, tt := range tests {
		if got := re.FindAllString(tt.in, -1); !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// patchFixture loads testdata/wordlevel/tokenizer.json, replaces one
// top-level field and returns the JSON, so error cases differ from a
// working file in exactly one place.
func patchFixture(t *testing.T, field, value string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "wordlevel", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc[field] = json.RawMessage(value)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnsupportedComponents(t *testing.T) {
	tests := []struct {
		field, value   string
		component, typ string
	}{
		{"normalizer", `{"type":"Precompiled","precompiled_charsmap":""}`, "normalizer", "Precompiled"},
		{"normalizer", `{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Prepend","prepend":"x"}]}`, "normalizer", "Prepend"},
		{"pre_tokenizer", `{"type":"Metaspace","replacement":"▁"}`, "pre_tokenizer", "Metaspace"},
		// RE2 has no lookahead: refused at load, not mis-tokenized later
		{"pre_tokenizer", `{"type":"Split","pattern":{"Regex":"\\s+(?!\\S)"},"behavior":"Isolated","invert":false}`, "pre_tokenizer", "Split"},
		{"model", `{"type":"Unigram","vocab":[["a",0.0]]}`, "model", "Unigram"},
		{"post_processor", `{"type":"Fancy"}`, "post_processor", "Fancy"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			_, err := FromJSON(patchFixture(t, tt.field, tt.value))
			var ue *UnsupportedComponentError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want *UnsupportedComponentError", err)
			}
			if ue.Component != tt.component || ue.Type != tt.typ {
				t.Errorf("got %s %q, want %s %q", ue.Component, ue.Type, tt.component, tt.typ)
			}
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("errors.Is(err, ErrUnsupported) = false for %v", err)
			}
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name, field, value string
	}{
		{"unk not in vocab", "model", `{"type":"WordLevel","vocab":{"a":0},"unk_token":"[UNK]"}`},
		{"wordpiece unk not in vocab", "model", `{"type":"WordPiece","vocab":{"a":0},"unk_token":"[UNK]"}`},
		{"merge of unknown token", "model", `{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a c"]}`},
		{"merged token missing", "model", `{"type":"BPE","vocab":{"a":0,"b":1},"merges":[["a","b"]]}`},
		{"bad merge line", "model", `{"type":"BPE","vocab":{"a":0},"merges":["a"]}`},
		{"template token missing", "post_processor", `{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[X]","type_id":0}}],"pair":[],"special_tokens":{}}`},
		{"special id past vocab", "post_processor", `{"type":"BertProcessing","sep":["[SEP]",99],"cls":["[CLS]",2]}`},
		{"no model", "model", `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromJSON(patchFixture(t, tt.field, tt.value))
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
	t.Run("not json", func(t *testing.T) {
		if _, err := FromJSON([]byte("{")); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("err = %v, want ErrInvalidConfig", err)
		}
	})
	t.Run("unknown pad token", func(t *testing.T) {
		_, err := FromJSON(patchFixture(t, "padding", "null"), WithPadToken("<nope>"))
		if !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("err = %v, want ErrInvalidConfig", err)
		}
	})
}

func TestLoadFileErrors(t *testing.T) {
	_, err := LoadFile(context.Background(), filepath.Join("testdata", "missing", "tokenizer.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = LoadFile(ctx, filepath.Join("testdata", "minilm", "tokenizer.json"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestBPEMergeFormatsAgree(t *testing.T) {
	// tokenizers >= 0.20 writes merges as pairs; both forms must load the
	// same model.
	lines := `{"type":"BPE","vocab":{"[UNK]":0,"a":1,"b":2,"ab":3,"abb":4},"unk_token":"[UNK]","merges":["a b","ab b"]}`
	pairs := `{"type":"BPE","vocab":{"[UNK]":0,"a":1,"b":2,"ab":3,"abb":4},"unk_token":"[UNK]","merges":[["a","b"],["ab","b"]]}`
	for _, m := range []string{lines, pairs} {
		tk, err := FromJSON(patchFixture(t, "model", m))
		if err != nil {
			t.Fatal(err)
		}
		// abb: a b -> ab (rank 0) -> abb (rank 1); ba has no merge. The
		// fixture's BertProcessing still wraps with ids 2 and 3.
		checkIDs(t, tk, tk.Encode("abb ba").InputIDs, []int64{2, 4, 2, 1, 3})
	}
}
