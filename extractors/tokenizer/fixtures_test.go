package tokenizer

import (
	"slices"
	"testing"
)

// testdata/wordlevel: NFKC + Lowercase, Whitespace pre-tokenizer,
// WordLevel model, BertProcessing. Vocab: [UNK] 0 [PAD] 1 [CLS] 2 [SEP] 3
// red 4 shoe 5 shoes 6 size 7 42 8 - 9 , 10 café 11.
func TestWordLevelFixture(t *testing.T) {
	tk := loadFixture(t, "wordlevel")
	tests := []struct {
		name string
		text string
		want []int64
	}{
		// Whitespace splits \w+ from [^\w\s]+: red shoes , size 42
		{"words and punctuation", "Red Shoes, size 42", []int64{2, 4, 6, 10, 7, 8, 3}},
		// blue is unknown; the hyphen is its own word
		{"unknown word", "Blue-shoe", []int64{2, 0, 9, 5, 3}},
		// NFKC folds full-width letters to ASCII
		{"full width", "ｓｈｏｅ", []int64{2, 5, 3}},
		// NFKC composes e + U+0301 into é, then lowercase: café
		{"composition", "Cafe\u0301", []int64{2, 11, 3}},
		// letters and digits are both \w, so size42 stays one (unknown) word
		{"mixed word", "size42", []int64{2, 0, 3}},
		{"empty", "", []int64{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkIDs(t, tk, tk.Encode(tt.text).InputIDs, tt.want)
		})
	}

	t.Run("pair", func(t *testing.T) {
		enc := tk.EncodePair("red shoe", "size 42")
		checkIDs(t, tk, enc.InputIDs, []int64{2, 4, 5, 3, 7, 8, 3})
		if want := []int64{0, 0, 0, 0, 1, 1, 1}; !slices.Equal(enc.TokenTypeIDs, want) {
			t.Errorf("type ids = %v, want %v", enc.TokenTypeIDs, want)
		}
	})

	t.Run("batch pads with [PAD] without a padding section", func(t *testing.T) {
		b := tk.EncodeBatch([]string{"red shoes size 42", "red"}, BatchOptions{MaxLength: 4})
		// Row 0 keeps 4 - 2 special = 2 words; row 1 is padded with [PAD] 1.
		checkIDs(t, tk, b.InputIDs, []int64{2, 4, 6, 3, 2, 4, 3, 1})
		if want := []int64{1, 1, 1, 1, 1, 1, 1, 0}; !slices.Equal(b.AttentionMask, want) {
			t.Errorf("mask = %v, want %v", b.AttentionMask, want)
		}
	})

	t.Run("pair longest first", func(t *testing.T) {
		// limit 6 - 3 = 3 for 4 + 1 tokens: the short side keeps its 1,
		// the long side gets the remaining 2.
		b := tk.EncodePairBatch([]Pair{{"red red red red", "shoe"}}, BatchOptions{MaxLength: 6})
		checkIDs(t, tk, b.InputIDs, []int64{2, 4, 4, 3, 5, 3})
	})
}

// testdata/bpe is laid out like CLIP's tokenizer.json (NFC, \s+ -> " ",
// lowercase; CLIP's Split regex then ByteLevel without regex; BPE with
// </w> end-of-word suffix and <|endoftext|> as unk; RobertaProcessing) but
// with a hand-made vocabulary:
//
//	a 0 b 1 c 2 d 3 e 4 h 5 l 6 o 7 r 8 s 9 t 10 w 11
//	a</w> 12 d</w> 13 e</w> 14 l</w> 15 o</w> 16 s</w> 17 t</w> 18 ,</w> 19 !</w> 20
//	he 21 ll 22 hell 23 hello</w> 24 re 25 red</w> 26 ad</w> 27 bre 28
//	bread</w> 29 ll</w> 30 <|startoftext|> 31 <|endoftext|> 32
//	Ã 33 ©</w> 34 Â 35 Ń</w> 36
//
// and merges by rank: 0 "h e", 1 "l l", 2 "he ll", 3 "hell o</w>",
// 4 "r e", 5 "re d</w>", 6 "a d</w>", 7 "b re", 8 "bre ad</w>", 9 "l l</w>".
func TestBPEFixture(t *testing.T) {
	tk := loadFixture(t, "bpe")
	tests := []struct {
		name string
		text string
		want []int64
	}{
		// hello: h e l l o</w> -> he (0) -> ll (1) -> hell (2) -> hello</w> (3).
		// bread: r e (4) first; then a d</w> (6) beats b re (7); then
		// bre ad</w> (8). Punctuation gets </w> as the last char of its word.
		{"merges by rank", "Hello, RED bread!", []int64{31, 24, 19, 26, 29, 20, 32}},
		// l l l l</w>: both "l l" pairs have rank 1; the leftmost merges
		// first, leaving l l</w> for rank 9 -> ll ll</w>. (Rightmost first
		// would give l ll l</w>.)
		{"ties go leftmost", "llll", []int64{31, 22, 30, 32}},
		// z is not in the vocab: unk <|endoftext|>, and e d</w> has no merge
		{"unknown char", "zed", []int64{31, 32, 4, 13, 32}},
		// é is bytes C3 A9, spelled Ã and © by the byte-level table
		{"byte level", "é", []int64{31, 33, 34, 32}},
		// U+00AD is bytes C2 AD; 0xAD is not printable so it moves to
		// U+0100 + 67 = Ń
		{"shifted byte", "\u00ad", []int64{31, 35, 36, 32}},
		// no-break space is Unicode whitespace: Replace turns it into " "
		{"unicode whitespace", "red\u00a0\n\tbread", []int64{31, 26, 29, 32}},
		// normalized added tokens are found in the normalized text
		{"added token inside text", "hello<|endoftext|>red", []int64{31, 24, 32, 26, 32}},
		{"empty", "", []int64{31, 32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := tk.Encode(tt.text)
			checkIDs(t, tk, enc.InputIDs, tt.want)
			if !slices.Equal(enc.TokenTypeIDs, make([]int64, len(tt.want))) {
				t.Errorf("RoBERTa-style type ids must be 0, got %v", enc.TokenTypeIDs)
			}
		})
	}

	t.Run("pair uses a doubled separator", func(t *testing.T) {
		enc := tk.EncodePair("red", "bread")
		checkIDs(t, tk, enc.InputIDs, []int64{31, 26, 32, 32, 29, 32})
		if !slices.Equal(enc.TokenTypeIDs, make([]int64, 6)) {
			t.Errorf("type ids = %v, want zeros", enc.TokenTypeIDs)
		}
	})

	t.Run("pad token option", func(t *testing.T) {
		// No padding section and no [PAD]/<pad>: pad id falls back to 0
		// unless told otherwise, as CLIP pads with <|endoftext|>.
		if got := tk.PadID(); got != 0 {
			t.Errorf("default PadID = %d, want 0", got)
		}
		tk2 := loadFixture(t, "bpe", WithPadToken("<|endoftext|>"))
		b := tk2.EncodeBatch([]string{"hello red", ""}, BatchOptions{})
		checkIDs(t, tk2, b.InputIDs, []int64{31, 24, 26, 32, 31, 32, 32, 32})
	})
}

// The truncation and padding sections of a file are honoured: direction,
// strategy, pad id and pad type id.
func TestFileTruncationAndPadding(t *testing.T) {
	fromPatched := func(t *testing.T, field, value string) *Tokenizer {
		t.Helper()
		tk, err := FromJSON(patchFixture(t, field, value))
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	t.Run("left padding with pad type id", func(t *testing.T) {
		tk := fromPatched(t, "padding", `{"strategy":"BatchLongest","direction":"Left","pad_to_multiple_of":null,"pad_id":0,"pad_type_id":1,"pad_token":"[UNK]"}`)
		b := tk.EncodeBatch([]string{"red shoe", "red"}, BatchOptions{})
		checkIDs(t, tk, b.InputIDs, []int64{2, 4, 5, 3, 0, 2, 4, 3})
		if want := []int64{1, 1, 1, 1, 0, 1, 1, 1}; !slices.Equal(b.AttentionMask, want) {
			t.Errorf("mask = %v, want %v", b.AttentionMask, want)
		}
		if want := []int64{0, 0, 0, 0, 1, 0, 0, 0}; !slices.Equal(b.TokenTypeIDs, want) {
			t.Errorf("type ids = %v, want %v", b.TokenTypeIDs, want)
		}
	})
	t.Run("left truncation keeps the end", func(t *testing.T) {
		tk := fromPatched(t, "truncation", `{"direction":"Left","max_length":4,"strategy":"LongestFirst","stride":0}`)
		checkIDs(t, tk, tk.Encode("red shoes size 42").InputIDs, []int64{2, 7, 8, 3})
	})
	t.Run("only second", func(t *testing.T) {
		// limit 6 - 3 = 3 for 2 + 3 tokens: both removals come from B.
		tk := fromPatched(t, "truncation", `{"direction":"Right","max_length":6,"strategy":"OnlySecond","stride":0}`)
		checkIDs(t, tk, tk.EncodePair("red red", "shoe shoe shoe").InputIDs, []int64{2, 4, 4, 3, 5, 3})
	})
}

// A Tokenizer is shared by request goroutines; run with -race.
func TestConcurrentEncode(t *testing.T) {
	for _, name := range []string{"minilm", "bpe"} {
		tk := loadFixture(t, name)
		titles := productTitles()
		want := tk.EncodeBatch(titles, BatchOptions{})
		errs := make(chan string, 4)
		for range 4 {
			go func() {
				got := tk.EncodeBatch(titles, BatchOptions{})
				if !slices.Equal(got.InputIDs, want.InputIDs) {
					errs <- name + ": concurrent batch differs"
					return
				}
				errs <- ""
			}()
		}
		for range 4 {
			if msg := <-errs; msg != "" {
				t.Error(msg)
			}
		}
	}
}
