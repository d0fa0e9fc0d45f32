package throughput

import (
	"context"
	"fmt"
	"strings"

	"github.com/vitrinehq/vitrine/extractors/tokenizer"
	"github.com/vitrinehq/vitrine/internal/onnxgen"
)

// SeqTextsSource says how SeqTexts makes its texts, for reports.
const SeqTextsSource = "synthetic product texts run together (title. brand. category. description, item i starting at product i); " +
	"each item is the shortest word prefix the BERT uncased WordPiece tokenizer turns into at least SEQ tokens ([CLS] and [SEP] included), " +
	"and max_length = SEQ cuts the last word's extra pieces, so every row is exactly SEQ tokens with no padding"

// SeqTexts are n texts that the generated text models' tokenizer
// (onnxgen.BERTTokenizer) turns into exactly seq tokens at max_length seq
// (see SeqTextsSource): real words, so tokenising costs what it costs on
// a catalog, and no padding, so every item does a full row's work.
func SeqTexts(ctx context.Context, n, seq int) ([][]byte, error) {
	tok, err := tokenizer.FromJSON(onnxgen.BERTTokenizer())
	if err != nil {
		return nil, fmt.Errorf("generated models' tokenizer: %w", err)
	}
	count := func(words []string) int {
		return tok.EncodeBatch([]string{strings.Join(words, " ")}, tokenizer.BatchOptions{MaxLength: -1}).SeqLen
	}
	products := ProductTexts(64)
	out := make([][]byte, n)
	for i := range out {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var words []string
		for j := i; count(words) < seq; j++ {
			words = append(words, strings.Fields(string(products[j%len(products)]))...)
		}
		// The shortest prefix of at least seq tokens: count grows with
		// the number of words.
		lo, hi := 1, len(words)
		for lo < hi {
			mid := (lo + hi) / 2
			if count(words[:mid]) >= seq {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		text := strings.Join(words[:lo], " ")
		if got := tok.EncodeBatch([]string{text}, tokenizer.BatchOptions{MaxLength: seq}).SeqLen; got != seq {
			return nil, fmt.Errorf("text %d is %d tokens at max_length %d, want %d", i, got, seq, seq)
		}
		out[i] = []byte(text)
	}
	return out, nil
}
