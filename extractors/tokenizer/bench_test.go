package tokenizer

import "testing"

func BenchmarkEncodeBatch(b *testing.B) {
	tk := loadFixture(b, "minilm")
	titles := productTitles()
	if len(titles) != 32 {
		b.Fatalf("want a batch of 32 titles, have %d", len(titles))
	}
	b.ReportAllocs()
	for b.Loop() {
		tk.EncodeBatch(titles, BatchOptions{})
	}
}

func BenchmarkEncodeBatchBPE(b *testing.B) {
	tk := loadFixture(b, "bpe")
	titles := productTitles()
	b.ReportAllocs()
	for b.Loop() {
		tk.EncodeBatch(titles, BatchOptions{})
	}
}

// BenchmarkEncodeBatchInto is BenchmarkEncodeBatch reusing one Batch, as
// the text encoder does: after the first call nothing is allocated per
// call, let alone per token.
func BenchmarkEncodeBatchInto(b *testing.B) {
	tk := loadFixture(b, "minilm")
	titles := productTitles()
	var batch Batch
	b.ReportAllocs()
	for b.Loop() {
		tk.EncodeBatchInto(&batch, titles, BatchOptions{})
	}
}
