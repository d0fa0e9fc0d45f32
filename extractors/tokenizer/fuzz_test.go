package tokenizer

import (
	"slices"
	"testing"
)

// FuzzEncode checks invariants that must hold for any input, on all three
// fixtures: no panic, every id inside the vocabulary, equal lengths of ids,
// mask and type ids, the row limit respected, special tokens at both ends,
// and batch rows identical to single encodings. Seeds live in
// testdata/fuzz/FuzzEncode.
func FuzzEncode(f *testing.F) {
	type fixture struct {
		tk         *Tokenizer
		first, end int64 // expected first and last id
	}
	fixtures := map[string]fixture{
		"minilm":    {loadFixture(f, "minilm"), 101, 102},
		"wordlevel": {loadFixture(f, "wordlevel", WithMaxLength(16)), 2, 3},
		"bpe":       {loadFixture(f, "bpe", WithMaxLength(16)), 31, 32},
	}
	f.Fuzz(func(t *testing.T, text string) {
		for name, fx := range fixtures {
			enc := fx.tk.Encode(text)
			n := len(enc.InputIDs)
			if n < 2 || len(enc.AttentionMask) != n || len(enc.TokenTypeIDs) != n {
				t.Fatalf("%s: lengths ids %d mask %d types %d", name, n, len(enc.AttentionMask), len(enc.TokenTypeIDs))
			}
			if n > fx.tk.MaxLength() {
				t.Fatalf("%s: %d ids, max length %d", name, n, fx.tk.MaxLength())
			}
			if enc.InputIDs[0] != fx.first || enc.InputIDs[n-1] != fx.end {
				t.Fatalf("%s: ids %v do not start/end with the special tokens", name, enc.InputIDs)
			}
			for _, id := range enc.InputIDs {
				if id < 0 || id >= int64(fx.tk.VocabSize()) {
					t.Fatalf("%s: id %d outside vocab of %d", name, id, fx.tk.VocabSize())
				}
			}
			for _, m := range enc.AttentionMask {
				if m != 1 {
					t.Fatalf("%s: mask %v in an unpadded encoding", name, enc.AttentionMask)
				}
			}

			b := fx.tk.EncodeBatch([]string{text, "a"}, BatchOptions{})
			if len(b.InputIDs) != 2*b.SeqLen || len(b.AttentionMask) != len(b.InputIDs) || len(b.TokenTypeIDs) != len(b.InputIDs) {
				t.Fatalf("%s: batch slices %d/%d/%d for 2x%d", name, len(b.InputIDs), len(b.AttentionMask), len(b.TokenTypeIDs), b.SeqLen)
			}
			if !slices.Equal(b.InputIDs[:n], enc.InputIDs) {
				t.Fatalf("%s: batch row %v != Encode %v", name, b.InputIDs[:n], enc.InputIDs)
			}
			for i := n; i < b.SeqLen; i++ {
				if b.AttentionMask[i] != 0 || b.InputIDs[i] != fx.tk.PadID() {
					t.Fatalf("%s: pad position %d has id %d mask %d", name, i, b.InputIDs[i], b.AttentionMask[i])
				}
			}

			p := fx.tk.EncodePair(text, text)
			if len(p.InputIDs) > fx.tk.MaxLength() || len(p.TokenTypeIDs) != len(p.InputIDs) {
				t.Fatalf("%s: pair of %d ids (types %d), max %d", name, len(p.InputIDs), len(p.TokenTypeIDs), fx.tk.MaxLength())
			}
		}
	})
}
