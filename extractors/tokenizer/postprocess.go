package tokenizer

import "encoding/json"

// templatePiece is either a special token (ids set) or a sequence slot
// (seq 0 for A, 1 for B), each with the type id it contributes.
type templatePiece struct {
	ids    []int64
	seq    int // -1 for special tokens
	typeID int64
}

// postProcessor adds special tokens and assigns type ids. It is always a
// template: BertProcessing and RobertaProcessing are fixed templates.
type postProcessor struct {
	single, pair []templatePiece
}

// defaultPostProcessor is what tokenizers does with no post_processor: no
// special tokens, type id 0 for A and 1 for B.
func defaultPostProcessor() *postProcessor {
	return &postProcessor{
		single: []templatePiece{{seq: 0}},
		pair:   []templatePiece{{seq: 0}, {seq: 1, typeID: 1}},
	}
}

// added is how many special tokens the template puts around the content;
// truncation reserves room for them.
func (p *postProcessor) added(isPair bool) int {
	t := p.single
	if isPair {
		t = p.pair
	}
	n := 0
	for _, piece := range t {
		n += len(piece.ids)
	}
	return n
}

// apply writes the templated sequence into ids and typeIDs (appending).
func (p *postProcessor) apply(ids, typeIDs []int64, a, b []int64, isPair bool) ([]int64, []int64) {
	t := p.single
	if isPair {
		t = p.pair
	}
	for _, piece := range t {
		src := piece.ids
		switch piece.seq {
		case 0:
			src = a
		case 1:
			src = b
		}
		ids = append(ids, src...)
		for range src {
			typeIDs = append(typeIDs, piece.typeID)
		}
	}
	return ids, typeIDs
}

type postProcessorJSON struct {
	Type          string                        `json:"type"`
	Single        []map[string]templateItemJSON `json:"single"`
	Pair          []map[string]templateItemJSON `json:"pair"`
	SpecialTokens map[string]specialTokenJSON   `json:"special_tokens"`
	Sep           *tokenIDPair                  `json:"sep"`
	Cls           *tokenIDPair                  `json:"cls"`
	Processors    []json.RawMessage             `json:"processors"`
}

type templateItemJSON struct {
	ID     string `json:"id"`
	TypeID int64  `json:"type_id"`
}

type specialTokenJSON struct {
	ID  string  `json:"id"`
	IDs []int64 `json:"ids"`
}

// tokenIDPair is the ["[SEP]", 102] form of BertProcessing.
type tokenIDPair struct {
	Token string
	ID    int64
}

func (t *tokenIDPair) UnmarshalJSON(data []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[0], &t.Token); err != nil {
		return err
	}
	return json.Unmarshal(raw[1], &t.ID)
}

func buildPostProcessor(raw json.RawMessage) (*postProcessor, error) {
	if isNull(raw) {
		return defaultPostProcessor(), nil
	}
	var cfg postProcessorJSON
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, invalidf("post_processor: %v", err)
	}
	switch cfg.Type {
	case "TemplateProcessing":
		single, err := buildTemplate(cfg.Single, cfg.SpecialTokens)
		if err != nil {
			return nil, err
		}
		pair, err := buildTemplate(cfg.Pair, cfg.SpecialTokens)
		if err != nil {
			return nil, err
		}
		if len(pair) == 0 {
			pair = append(append([]templatePiece{}, single...), templatePiece{seq: 1, typeID: 1})
		}
		return &postProcessor{single: single, pair: pair}, nil
	case "BertProcessing", "RobertaProcessing":
		if cfg.Sep == nil || cfg.Cls == nil {
			return nil, invalidf("%s without sep/cls", cfg.Type)
		}
		cls, sep := []int64{cfg.Cls.ID}, []int64{cfg.Sep.ID}
		if cfg.Type == "BertProcessing" {
			return &postProcessor{
				single: []templatePiece{{ids: cls, seq: -1}, {seq: 0}, {ids: sep, seq: -1}},
				pair: []templatePiece{{ids: cls, seq: -1}, {seq: 0}, {ids: sep, seq: -1},
					{seq: 1, typeID: 1}, {ids: sep, seq: -1, typeID: 1}},
			}, nil
		}
		// RoBERTa has no segment embeddings: every type id is 0, and pairs
		// are joined with a doubled separator.
		return &postProcessor{
			single: []templatePiece{{ids: cls, seq: -1}, {seq: 0}, {ids: sep, seq: -1}},
			pair: []templatePiece{{ids: cls, seq: -1}, {seq: 0}, {ids: sep, seq: -1},
				{ids: sep, seq: -1}, {seq: 1}, {ids: sep, seq: -1}},
		}, nil
	case "ByteLevel":
		// Only adjusts offsets, which this package does not produce.
		return defaultPostProcessor(), nil
	case "Sequence":
		// Files such as Llama 3's chain ByteLevel (offsets only) with a
		// template; more than one effective step is not supported.
		var chosen *postProcessor
		for _, sub := range cfg.Processors {
			var head struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(sub, &head); err != nil {
				return nil, invalidf("post_processor: %v", err)
			}
			if head.Type == "ByteLevel" {
				continue
			}
			if chosen != nil {
				return nil, unsupported("post_processor", cfg.Type, "more than one processor that adds tokens")
			}
			p, err := buildPostProcessor(sub)
			if err != nil {
				return nil, err
			}
			chosen = p
		}
		if chosen == nil {
			return defaultPostProcessor(), nil
		}
		return chosen, nil
	default:
		return nil, unsupported("post_processor", cfg.Type, "")
	}
}

func buildTemplate(items []map[string]templateItemJSON, specials map[string]specialTokenJSON) ([]templatePiece, error) {
	var out []templatePiece
	for _, item := range items {
		if len(item) != 1 {
			return nil, invalidf("template item with %d keys", len(item))
		}
		for kind, v := range item {
			switch kind {
			case "SpecialToken":
				st, ok := specials[v.ID]
				if !ok || len(st.IDs) == 0 {
					return nil, invalidf("template special token %q not in special_tokens", v.ID)
				}
				out = append(out, templatePiece{ids: st.IDs, seq: -1, typeID: v.TypeID})
			case "Sequence":
				seq := 0
				switch v.ID {
				case "A":
				case "B":
					seq = 1
				default:
					return nil, invalidf("template sequence %q (want A or B)", v.ID)
				}
				out = append(out, templatePiece{seq: seq, typeID: v.TypeID})
			default:
				return nil, invalidf("template item %q", kind)
			}
		}
	}
	return out, nil
}
