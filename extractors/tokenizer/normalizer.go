package tokenizer

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites a whole input string before it is split into words.
// No offsets are tracked: Vitrine only needs ids, never spans.
type normalizer interface {
	normalize(s string) string
}

type normalizerSeq []normalizer

func (n normalizerSeq) normalize(s string) string {
	for _, x := range n {
		s = x.normalize(s)
	}
	return s
}

// unicodeForm covers the NFD, NFC, NFKD and NFKC normalizers.
type unicodeForm struct{ form norm.Form }

func (u unicodeForm) normalize(s string) string { return u.form.String(s) }

type lowercase struct{}

func (lowercase) normalize(s string) string {
	if isASCII(s) {
		return asciiLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		writeLower(&b, r)
	}
	return b.String()
}

// stripAccents is HF's StripAccents normalizer: it drops every combining
// mark (Mn, Mc, Me) but does not decompose; files put NFD in front of it.
type stripAccents struct{}

func (stripAccents) normalize(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.M, r) {
			return -1
		}
		return r
	}, s)
}

// replace is HF's Replace normalizer (CLIP uses it to squeeze whitespace).
type replace struct {
	literal string
	re      *regexp.Regexp
	content string
}

func (r replace) normalize(s string) string {
	if r.re != nil {
		return r.re.ReplaceAllLiteralString(s, r.content)
	}
	return strings.ReplaceAll(s, r.literal, r.content)
}

// bertNormalizer follows tokenizers' normalizers/bert.rs step by step:
// clean text, space out CJK ideographs, strip accents (NFD, drop Mn), then
// lowercase.
type bertNormalizer struct {
	cleanText, chineseChars, stripAccents, lowercase bool
}

func (n bertNormalizer) normalize(s string) string {
	if isASCII(s) {
		return n.normalizeASCII(s)
	}
	var bufs normBufs
	return strings.Clone(n.normalizeInto(&bufs, s))
}

// normalizeInto implements bufferedNormalizer: the same steps written into
// bufs (ASCII input, the common case, in one pass).
func (n bertNormalizer) normalizeInto(bufs *normBufs, s string) string {
	if isASCII(s) {
		bufs.a = n.appendASCII(bufs.a[:0], s)
		return scratchString(bufs.a)
	}
	a := bufs.a[:0]
	for _, r := range s {
		if n.cleanText {
			if r == 0 || r == utf8.RuneError || isBertControl(r) {
				continue
			}
			if isWhitespace(r) {
				r = ' '
			}
		}
		if n.chineseChars && isChineseChar(r) {
			a = append(a, ' ')
			a = utf8.AppendRune(a, r)
			a = append(a, ' ')
			continue
		}
		a = utf8.AppendRune(a, r)
	}
	bufs.a = a
	if !n.stripAccents && !n.lowercase {
		return scratchString(a)
	}
	if n.stripAccents {
		bufs.b = norm.NFD.Append(bufs.b[:0], a...)
		a, bufs.a, bufs.b = bufs.b, bufs.b, bufs.a // a now holds the NFD form
	}
	out := bufs.b[:0]
	for i := 0; i < len(a); {
		r, size := utf8.DecodeRune(a[i:])
		i += size
		if n.stripAccents && unicode.Is(unicode.Mn, r) {
			continue
		}
		if n.lowercase {
			out = appendLower(out, r)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	bufs.b = out
	return scratchString(out)
}

// normalizeASCII is the same pipeline for pure-ASCII input, the common case
// for product titles: NFD and CJK handling are identities there.
func (n bertNormalizer) normalizeASCII(s string) string {
	return string(n.appendASCII(make([]byte, 0, len(s)), s))
}

// appendASCII appends the normalised form of the ASCII string s to buf.
func (n bertNormalizer) appendASCII(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if n.cleanText {
			switch {
			case c == '\t' || c == '\n' || c == '\r':
				c = ' '
			case c < 0x20 || c == 0x7f: // Cc, removed like in HF
				continue
			}
		}
		if n.lowercase && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// isBertControl mirrors bert.rs is_control: tab, LF and CR count as
// whitespace, everything in Cc, Cf, Co, Cs or unassigned (Cn) is control.
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if unicode.Is(unicode.C, r) {
		return true
	}
	// Cn has no table in package unicode: a rune is unassigned when it is
	// in no general category at all.
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isWhitespace is Rust's char::is_whitespace, the Unicode White_Space
// property (wider than regexp's \s).
func isWhitespace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || ('\t' <= r && r <= '\r')
	}
	return unicode.Is(unicode.White_Space, r)
}

// isChineseChar is the CJK Unified Ideographs block list from BERT.
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// appendLower is writeLower appending to a byte slice.
func appendLower(b []byte, r rune) []byte {
	if r == 'İ' {
		return append(b, "i\u0307"...)
	}
	return utf8.AppendRune(b, unicode.ToLower(r))
}

// writeLower applies Rust's char::to_lowercase, which differs from Go's
// unicode.ToLower only for U+0130 (full mapping to "i" + combining dot).
func writeLower(b *strings.Builder, r rune) {
	if r == 'İ' {
		b.WriteString("i\u0307")
		return
	}
	b.WriteRune(unicode.ToLower(r))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	hasUpper := false
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			hasUpper = true
			break
		}
	}
	if !hasUpper {
		return s
	}
	return strings.ToLower(s)
}

// normalizerJSON is the union of all supported normalizer fields.
type normalizerJSON struct {
	Type               string            `json:"type"`
	CleanText          *bool             `json:"clean_text"`
	HandleChineseChars *bool             `json:"handle_chinese_chars"`
	StripAccents       *bool             `json:"strip_accents"`
	Lowercase          *bool             `json:"lowercase"`
	Normalizers        []json.RawMessage `json:"normalizers"`
	Pattern            patternJSON       `json:"pattern"`
	Content            string            `json:"content"`
}

// patternJSON is HF's {"String": "..."} or {"Regex": "..."}.
type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func buildNormalizer(raw json.RawMessage) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var cfg normalizerJSON
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, invalidf("normalizer: %v", err)
	}
	switch cfg.Type {
	case "BertNormalizer":
		lower := boolOr(cfg.Lowercase, true)
		return bertNormalizer{
			cleanText:    boolOr(cfg.CleanText, true),
			chineseChars: boolOr(cfg.HandleChineseChars, true),
			// HF: strip_accents null means "do whatever lowercase does".
			stripAccents: boolOr(cfg.StripAccents, lower),
			lowercase:    lower,
		}, nil
	case "Lowercase":
		return lowercase{}, nil
	case "NFD":
		return unicodeForm{norm.NFD}, nil
	case "NFC":
		return unicodeForm{norm.NFC}, nil
	case "NFKD":
		return unicodeForm{norm.NFKD}, nil
	case "NFKC":
		return unicodeForm{norm.NFKC}, nil
	case "StripAccents":
		return stripAccents{}, nil
	case "Replace":
		switch {
		case cfg.Pattern.Regex != nil:
			re, err := compileHFRegex(*cfg.Pattern.Regex)
			if err != nil {
				return nil, unsupported("normalizer", cfg.Type, err.Error())
			}
			return replace{re: re, content: cfg.Content}, nil
		case cfg.Pattern.String != nil && *cfg.Pattern.String != "":
			return replace{literal: *cfg.Pattern.String, content: cfg.Content}, nil
		default:
			return nil, invalidf("Replace normalizer without pattern")
		}
	case "Sequence":
		var seq normalizerSeq
		for _, sub := range cfg.Normalizers {
			n, err := buildNormalizer(sub)
			if err != nil {
				return nil, err
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	default:
		return nil, unsupported("normalizer", cfg.Type, "")
	}
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}
