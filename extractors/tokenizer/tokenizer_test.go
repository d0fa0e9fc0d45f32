package tokenizer

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadFixture(tb testing.TB, name string, opts ...Option) *Tokenizer {
	tb.Helper()
	tk, err := LoadFile(context.Background(), filepath.Join("testdata", name, "tokenizer.json"), opts...)
	if err != nil {
		tb.Fatalf("load %s: %v", name, err)
	}
	return tk
}

// tokensOf renders ids as vocabulary entries so that failures are readable.
func tokensOf(tk *Tokenizer, ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		tok, ok := tk.Token(id)
		if !ok {
			tok = "<?>"
		}
		out[i] = tok
	}
	return out
}

func checkIDs(t *testing.T, tk *Tokenizer, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("ids\n got %v %q\nwant %v %q", got, tokensOf(tk, got), want, tokensOf(tk, want))
	}
}

func ones(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// Expected ids below were looked up in the vocab of testdata/minilm
// (bert-base-uncased): [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102,
// [MASK] 103. WordPiece is greedy longest-prefix-first, so each word's
// split is the one stated in the comment.
func TestMiniLMEncode(t *testing.T) {
	tk := loadFixture(t, "minilm")
	if got := tk.VocabSize(); got != 30522 {
		t.Fatalf("VocabSize = %d, want 30522", got)
	}
	if got := tk.MaxLength(); got != 128 {
		t.Fatalf("MaxLength = %d, want 128 from the file's truncation section", got)
	}
	tests := []struct {
		name string
		text string
		want []int64
	}{
		// hello 7592, world 2088
		{"plain", "hello world", []int64{101, 7592, 2088, 102}},
		// lowercased; tab, NUL and newline cleaned away
		{"case and control chars", "HELLO\tWorld\x00\n", []int64{101, 7592, 2088, 102}},
		// strip_accents=null follows lowercase=true: café -> cafe 7668;
		// creme is not in the vocab: cr 13675 + ##eme 21382
		{"accents", "Café crème", []int64{101, 7668, 13675, 21382, 102}},
		// naïve -> naive 15743 (accent stripped after NFD)
		{"upper-case accent", "NAÏVE", []int64{101, 15743, 102}},
		// hello , world ! it ' s $ 5 . 99 .
		// , 1010  ! 999  it 2009  ' 1005  s 1055  $ 1002  5 1019  . 1012  99 5585
		{"punctuation", "Hello, world! It's $5.99.", []int64{101, 7592, 1010, 2088, 999, 2009, 1005, 1055, 1002, 1019, 1012, 5585, 1012, 102}},
		// una 14477 ##ffa 20961 ##ble 3468
		{"subwords", "unaffable", []int64{101, 14477, 20961, 3468, 102}},
		// blue 2630 ##tooth 19392 head 2132 ##phones 19093 , 1010 4 1018 ##k 2243
		{"product title", "Bluetooth Headphones, 4K", []int64{101, 2630, 19392, 2132, 19093, 1010, 1018, 2243, 102}},
		// each ideograph is its own word: 中 1746 文 1861; 字 and 符 are not
		// in this vocab
		{"chinese", "中文字符", []int64{101, 1746, 1861, 100, 100, 102}},
		// iphone 18059 then the ideographs split off the Latin word
		{"chinese glued to latin", "iPhone中文", []int64{101, 18059, 1746, 1861, 102}},
		// ☃ is a symbol (So), not punctuation, so "☃world" is one word and
		// a word with an unmatched piece is [UNK] as a whole
		{"unknown char word", "hello ☃world", []int64{101, 7592, 100, 102}},
		// longer than max_input_chars_per_word (100) -> [UNK]
		{"over-long word", strings.Repeat("a", 101), []int64{101, 100, 102}},
		// added tokens in the text are matched before normalisation
		{"special token in text", "hello [MASK] world", []int64{101, 7592, 103, 2088, 102}},
		{"empty", "", []int64{101, 102}},
		{"only whitespace", " \t\n ", []int64{101, 102}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := tk.Encode(tt.text)
			checkIDs(t, tk, enc.InputIDs, tt.want)
			if !slices.Equal(enc.AttentionMask, ones(len(tt.want))) {
				t.Errorf("mask = %v, want all 1", enc.AttentionMask)
			}
			if !slices.Equal(enc.TokenTypeIDs, make([]int64, len(tt.want))) {
				t.Errorf("type ids = %v, want all 0", enc.TokenTypeIDs)
			}
		})
	}
}

func TestMiniLMTruncation(t *testing.T) {
	tk := loadFixture(t, "minilm")
	// 1,000 words: running 2770, shoes 6007.
	long := strings.TrimSpace(strings.Repeat("running shoes ", 500))
	tests := []struct {
		name   string
		tk     *Tokenizer
		opts   BatchOptions
		seqLen int
	}{
		{"file default 128", tk, BatchOptions{}, 128},
		{"per call 16", tk, BatchOptions{MaxLength: 16}, 16},
		{"option 32", loadFixture(t, "minilm", WithMaxLength(32)), BatchOptions{}, 32},
		{"off", tk, BatchOptions{MaxLength: -1}, 1002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.tk.EncodeBatch([]string{long}, tt.opts)
			if b.SeqLen != tt.seqLen || len(b.InputIDs) != tt.seqLen {
				t.Fatalf("seq len %d (%d ids), want %d", b.SeqLen, len(b.InputIDs), tt.seqLen)
			}
			ids := b.InputIDs
			if ids[0] != 101 || ids[len(ids)-1] != 102 {
				t.Fatalf("want [CLS] first and [SEP] last, got %d ... %d", ids[0], ids[len(ids)-1])
			}
			for i, id := range ids[1 : len(ids)-1] {
				want := int64(2770)
				if i%2 == 1 {
					want = 6007
				}
				if id != want {
					t.Fatalf("content id %d = %d, want %d", i, id, want)
				}
			}
			if !slices.Equal(b.AttentionMask, ones(tt.seqLen)) {
				t.Errorf("mask has zeros in an unpadded row")
			}
		})
	}
	t.Run("Encode truncates too", func(t *testing.T) {
		if n := len(tk.Encode(long).InputIDs); n != 128 {
			t.Errorf("Encode gave %d ids, want 128", n)
		}
	})
	t.Run("limit below special tokens keeps them", func(t *testing.T) {
		b := tk.EncodeBatch([]string{long}, BatchOptions{MaxLength: 1})
		checkIDs(t, tk, b.InputIDs, []int64{101, 102})
	})
}

func TestMiniLMBatchPadding(t *testing.T) {
	tk := loadFixture(t, "minilm")
	b := tk.EncodeBatch([]string{"hello world", "unaffable", ""}, BatchOptions{})
	if b.Size != 3 || b.SeqLen != 5 {
		t.Fatalf("shape %dx%d, want 3x5 (longest row, not max length)", b.Size, b.SeqLen)
	}
	if !slices.Equal(b.Shape(), []int64{3, 5}) {
		t.Errorf("Shape() = %v", b.Shape())
	}
	checkIDs(t, tk, b.InputIDs, []int64{
		101, 7592, 2088, 102, 0,
		101, 14477, 20961, 3468, 102,
		101, 102, 0, 0, 0,
	})
	wantMask := []int64{
		1, 1, 1, 1, 0,
		1, 1, 1, 1, 1,
		1, 1, 0, 0, 0,
	}
	if !slices.Equal(b.AttentionMask, wantMask) {
		t.Errorf("mask = %v, want %v", b.AttentionMask, wantMask)
	}
	if !slices.Equal(b.TokenTypeIDs, make([]int64, 15)) {
		t.Errorf("type ids = %v, want zeros", b.TokenTypeIDs)
	}

	empty := tk.EncodeBatch(nil, BatchOptions{})
	if empty.Size != 0 || empty.SeqLen != 0 || len(empty.InputIDs) != 0 {
		t.Errorf("empty batch = %+v", empty)
	}
}

func TestMiniLMPairs(t *testing.T) {
	tk := loadFixture(t, "minilm")
	tests := []struct {
		name      string
		pair      Pair
		maxLength int
		wantIDs   []int64
		wantTypes []int64
	}{
		{
			name:      "template",
			pair:      Pair{"hello world", "unaffable"},
			wantIDs:   []int64{101, 7592, 2088, 102, 14477, 20961, 3468, 102},
			wantTypes: []int64{0, 0, 0, 0, 1, 1, 1, 1},
		},
		{
			// 6 - 3 special = 3 content tokens for 2 + 3: LongestFirst gives
			// the shorter side limit/2 = 1 and the longer one 2.
			name:      "longest first",
			pair:      Pair{"hello world", "unaffable"},
			maxLength: 6,
			wantIDs:   []int64{101, 7592, 102, 14477, 20961, 102},
			wantTypes: []int64{0, 0, 0, 1, 1, 1},
		},
		{
			// Only the longer side is cut while the shorter one fits in half.
			name:      "longer side only",
			pair:      Pair{"hello", "running shoes running shoes"},
			maxLength: 6,
			wantIDs:   []int64{101, 7592, 102, 2770, 6007, 102},
			wantTypes: []int64{0, 0, 0, 1, 1, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tk.EncodePairBatch([]Pair{tt.pair}, BatchOptions{MaxLength: tt.maxLength})
			checkIDs(t, tk, b.InputIDs, tt.wantIDs)
			if !slices.Equal(b.TokenTypeIDs, tt.wantTypes) {
				t.Errorf("type ids = %v, want %v", b.TokenTypeIDs, tt.wantTypes)
			}
			if tt.maxLength == 0 {
				enc := tk.EncodePair(tt.pair.A, tt.pair.B)
				checkIDs(t, tk, enc.InputIDs, tt.wantIDs)
			}
		})
	}
}

func TestBatchMatchesEncode(t *testing.T) {
	tk := loadFixture(t, "minilm")
	texts := productTitles()
	b := tk.EncodeBatch(texts, BatchOptions{})
	for i, text := range texts {
		enc := tk.Encode(text)
		row := b.InputIDs[i*b.SeqLen : (i+1)*b.SeqLen]
		checkIDs(t, tk, row[:len(enc.InputIDs)], enc.InputIDs)
		for _, id := range row[len(enc.InputIDs):] {
			if id != tk.PadID() {
				t.Fatalf("row %d: pad position holds %d", i, id)
			}
		}
	}
}

func productTitles() []string {
	return []string{
		"Apple iPhone 15 Pro Max 256GB - Natural Titanium",
		"Nike Air Zoom Pegasus 40 Men's Running Shoes, Size 10.5",
		"Sony WH-1000XM5 Wireless Noise Cancelling Headphones (Black)",
		"Samsung 55\" Class QLED 4K Smart TV QN55Q60C",
		"Le Creuset Enameled Cast Iron Dutch Oven, 5.5 qt., Cerise",
		"Levi's Women's 501 Original Fit Jeans",
		"KitchenAid Artisan Stand Mixer 5-Quart — Empire Red",
		"Anker USB-C to USB-C Cable (6 ft, 100W), Braided",
		"Crème de la Mer Moisturizing Cream 1 oz / 30 ml",
		"LEGO Star Wars Millennium Falcon 75257 Building Kit (1,351 Pieces)",
		"Dyson V15 Detect Cordless Vacuum Cleaner",
		"Patagonia Better Sweater Fleece Jacket - Men's XL",
		"Instant Pot Duo 7-in-1 Electric Pressure Cooker, 6 Quart",
		"Bose QuietComfort Earbuds II, Triple Black",
		"The North Face Nuptse 1996 Retro Down Jacket",
		"Kindle Paperwhite (16 GB) – 6.8\" display, adjustable warm light",
		"Ray-Ban RB2140 Original Wayfarer Sunglasses, Polarized",
		"Nespresso Vertuo Next Coffee and Espresso Maker by De'Longhi",
		"Adidas Ultraboost 22 — Core Black / Cloud White, UK 9",
		"Logitech MX Master 3S Performance Wireless Mouse",
		"Yeti Rambler 20 oz Tumbler, Stainless Steel, Vacuum Insulated",
		"Canon EOS R6 Mark II Mirrorless Camera Body",
		"Café Bustelo Espresso Style Dark Roast Ground Coffee, 10 oz",
		"Hydro Flask 32 oz Wide Mouth Bottle with Flex Cap",
		"Nintendo Switch – OLED Model w/ White Joy-Con",
		"Vitamix 5200 Blender, Professional-Grade, 64 oz. Container",
		"Carhartt Men's Knit Cuffed Beanie, Acrylic, One Size",
		"Dr. Martens 1460 Smooth Leather Lace Up Boots",
		"Philips Sonicare 4100 Power Toothbrush, Rechargeable",
		"JBL Flip 6 Portable Bluetooth Speaker, Waterproof (IP67)",
		"Ninja AF101 Air Fryer, 4 Qt, Grey",
		"ASUS ROG Strix G16 (2023) Gaming Laptop, 16\" 165Hz, i9-13980HX, RTX 4070",
	}
}
