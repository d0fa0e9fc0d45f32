package tokenizer

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// model turns one pre-tokenized word into ids, appended to dst.
type model interface {
	tokenize(dst []int64, word string) []int64
	// vocab lists token -> id, used for id look-ups and the vocab size.
	vocab() map[string]int32
}

// wordPiece is BERT's greedy longest-match-first subword model.
type wordPiece struct {
	vocabMap map[string]int32
	unkID    int64
	prefix   string
	maxChars int
}

func (m *wordPiece) vocab() map[string]int32 { return m.vocabMap }

func (m *wordPiece) tokenize(dst []int64, word string) []int64 {
	if utf8.RuneCountInString(word) > m.maxChars {
		return append(dst, m.unkID)
	}
	mark := len(dst)
	// Candidates are built in one scratch buffer; indexing a map with
	// string(bytes) does not allocate.
	var stack [128]byte
	scratch := stack[:0]
	for start := 0; start < len(word); {
		end := len(word)
		found := false
		for start < end {
			scratch = scratch[:0]
			if start > 0 {
				scratch = append(scratch, m.prefix...)
			}
			scratch = append(scratch, word[start:end]...)
			if id, ok := m.vocabMap[string(scratch)]; ok {
				dst = append(dst, int64(id))
				found = true
				break
			}
			_, n := utf8.DecodeLastRuneInString(word[start:end])
			end -= n
		}
		if !found {
			// One unmatched piece makes the whole word unknown, as in BERT.
			return append(dst[:mark], m.unkID)
		}
		start = end
	}
	return dst
}

// wordLevel maps whole words to ids.
type wordLevel struct {
	vocabMap map[string]int32
	unkID    int64
}

func (m *wordLevel) vocab() map[string]int32 { return m.vocabMap }

func (m *wordLevel) tokenize(dst []int64, word string) []int64 {
	if id, ok := m.vocabMap[word]; ok {
		return append(dst, int64(id))
	}
	return append(dst, m.unkID)
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Vocab                   map[string]int32 `json:"vocab"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	MaxInputCharsPerWord    *int             `json:"max_input_chars_per_word"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	Merges                  json.RawMessage  `json:"merges"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Dropout                 *float64         `json:"dropout"`
}

func buildModel(raw json.RawMessage) (model, error) {
	if isNull(raw) {
		return nil, invalidf("no model")
	}
	// Dispatch on the type before decoding the rest: other models' vocab
	// shapes (Unigram's is a list) must report "unsupported", not "invalid".
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, invalidf("model: %v", err)
	}
	switch head.Type {
	case "", "WordPiece", "WordLevel", "BPE":
	default:
		return nil, unsupported("model", head.Type, "")
	}
	var cfg modelJSON
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, invalidf("model: %v", err)
	}
	typ := cfg.Type
	if typ == "" {
		// Old files omit the tag; tokenizers then guesses from the fields.
		switch {
		case !isNull(cfg.Merges):
			typ = "BPE"
		case cfg.MaxInputCharsPerWord != nil || cfg.ContinuingSubwordPrefix != nil:
			typ = "WordPiece"
		default:
			typ = "WordLevel"
		}
	}
	if len(cfg.Vocab) == 0 {
		return nil, invalidf("%s model with an empty vocab", typ)
	}
	for tok, id := range cfg.Vocab {
		if id < 0 {
			return nil, invalidf("token %q has negative id %d", tok, id)
		}
	}
	unkID := func(def string) (int64, error) {
		unk := def
		if cfg.UnkToken != nil {
			unk = *cfg.UnkToken
		}
		id, ok := cfg.Vocab[unk]
		if !ok {
			// tokenizers fails at encode time; failing at load keeps
			// Encode error-free.
			return 0, invalidf("%s unk token %q not in vocab", typ, unk)
		}
		return int64(id), nil
	}
	switch typ {
	case "WordPiece":
		id, err := unkID("[UNK]")
		if err != nil {
			return nil, err
		}
		m := &wordPiece{vocabMap: cfg.Vocab, unkID: id, prefix: "##", maxChars: 100}
		if cfg.ContinuingSubwordPrefix != nil {
			m.prefix = *cfg.ContinuingSubwordPrefix
		}
		if cfg.MaxInputCharsPerWord != nil {
			m.maxChars = *cfg.MaxInputCharsPerWord
		}
		return m, nil
	case "WordLevel":
		id, err := unkID("[UNK]")
		if err != nil {
			return nil, err
		}
		return &wordLevel{vocabMap: cfg.Vocab, unkID: id}, nil
	case "BPE":
		return newBPE(cfg)
	default:
		return nil, unsupported("model", typ, "")
	}
}

// parseMerges accepts both merge encodings tokenizers has written:
// ["a b", ...] and, since 0.20, [["a", "b"], ...].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		return pairs, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, invalidf("merges: %v", err)
	}
	pairs = make([][2]string, 0, len(lines))
	for i, l := range lines {
		parts := strings.Split(l, " ")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return nil, invalidf("merge %d %q is not \"a b\"", i, l)
		}
		pairs = append(pairs, [2]string{parts[0], parts[1]})
	}
	return pairs, nil
}

func errMergeToken(kind, tok string, line int) error {
	return invalidf("merge %d: %s token %q not in vocab", line, kind, tok)
}
