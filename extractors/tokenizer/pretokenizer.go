package tokenizer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// preTokenizer cuts a normalized string into words and appends them to dst.
// Words are substrings of s where possible so that splitting allocates
// little.
type preTokenizer interface {
	split(dst []string, s string) []string
}

type preTokenizerSeq []preTokenizer

func (p preTokenizerSeq) split(dst []string, s string) []string {
	words := []string{s}
	var next []string
	for _, pt := range p {
		next = next[:0]
		for _, w := range words {
			next = pt.split(next, w)
		}
		words, next = next, words
	}
	return append(dst, words...)
}

// bertPreTokenizer splits on whitespace (dropped) and makes every
// punctuation character a word of its own.
type bertPreTokenizer struct{}

func (bertPreTokenizer) split(dst []string, s string) []string {
	start := -1
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case isWhitespace(r):
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
			dst = append(dst, s[i:i+size])
		default:
			if start < 0 {
				start = i
			}
		}
		i += size
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// isBertPunct is Rust's is_ascii_punctuation (which includes symbols such as
// $ + < = > ^ ` | ~) or any Unicode P* category.
func isBertPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// whitespacePreTokenizer is HF's Whitespace: the regex \w+|[^\w\s]+ with
// Unicode classes, whitespace dropped.
type whitespacePreTokenizer struct{}

const (
	classSpace = iota
	classWord
	classOther
)

func wordClass(r rune) int {
	switch {
	case isWhitespace(r):
		return classSpace
	case isWordRune(r):
		return classWord
	default:
		return classOther
	}
}

// isWordRune approximates the regex crate's Unicode \w: Alphabetic, marks,
// decimal digits, connector punctuation and the join controls.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
	}
	return unicode.IsLetter(r) || unicode.Is(unicode.M, r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func (whitespacePreTokenizer) split(dst []string, s string) []string {
	start, cur := 0, classSpace
	for i, r := range s {
		c := wordClass(r)
		if c == cur {
			continue
		}
		if cur != classSpace {
			dst = append(dst, s[start:i])
		}
		start, cur = i, c
	}
	if cur != classSpace {
		dst = append(dst, s[start:])
	}
	return dst
}

// whitespaceSplit is HF's WhitespaceSplit: split on whitespace only.
type whitespaceSplit struct{}

func (whitespaceSplit) split(dst []string, s string) []string {
	start := -1
	for i, r := range s {
		if isWhitespace(r) {
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// byteLevel is GPT-2's pre-tokenizer: optionally split with the GPT-2
// pattern, then spell every byte as one printable rune so that BPE never
// meets an unknown character.
type byteLevel struct {
	addPrefixSpace bool
	useRegex       bool
	chars          [256]string
}

func newByteLevel(addPrefixSpace, useRegex bool) *byteLevel {
	b := &byteLevel{addPrefixSpace: addPrefixSpace, useRegex: useRegex}
	b.chars = bytesToUnicode()
	return b
}

// bytesToUnicode is GPT-2's bytes_to_unicode: printable Latin-1 bytes stand
// for themselves, the other 68 bytes are moved to U+0100 onwards in order.
func bytesToUnicode() [256]string {
	var t [256]string
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = string(rune(b))
		} else {
			t[b] = string(rune(256 + n))
			n++
		}
	}
	return t
}

func (b *byteLevel) split(dst []string, s string) []string {
	if s == "" {
		return dst
	}
	if b.addPrefixSpace && s[0] != ' ' {
		s = " " + s
	}
	if !b.useRegex {
		return append(dst, b.mapBytes(s))
	}
	start := len(dst)
	dst = gpt2Split(dst, s)
	for i := start; i < len(dst); i++ {
		dst[i] = b.mapBytes(dst[i])
	}
	return dst
}

func (b *byteLevel) mapBytes(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		sb.WriteString(b.chars[s[i]])
	}
	return sb.String()
}

// gpt2Split is the GPT-2 pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// written out by hand because Go's regexp has no lookahead.
func gpt2Split(dst []string, s string) []string {
	const (
		gSpace = iota
		gLetter
		gNumber
		gOther
	)
	class := func(r rune) int {
		switch {
		case isWhitespace(r):
			return gSpace
		case unicode.IsLetter(r):
			return gLetter
		case unicode.IsNumber(r):
			return gNumber
		default:
			return gOther
		}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\'' {
			if n := contractionLen(s[i+1:]); n > 0 {
				dst = append(dst, s[i:i+1+n])
				i += 1 + n
				continue
			}
		}
		// " ?X+" for the three non-space classes: the optional prefix is a
		// plain space only.
		j, c := i, class(r)
		if r == ' ' && i+1 < len(s) {
			r2, _ := utf8.DecodeRuneInString(s[i+1:])
			if c2 := class(r2); c2 != gSpace {
				j, c = i+1, c2
			}
		} else if c != gSpace {
			j += size
		}
		if c != gSpace {
			if j == i+1 && r == ' ' {
				_, n := utf8.DecodeRuneInString(s[j:])
				j += n
			}
			for j < len(s) {
				r3, n := utf8.DecodeRuneInString(s[j:])
				if class(r3) != c {
					break
				}
				j += n
			}
			dst = append(dst, s[i:j])
			i = j
			continue
		}
		// Whitespace run: \s+(?!\S) leaves the last space to prefix the next
		// word; a lone whitespace character falls through to \s+.
		end, last := i, i
		for end < len(s) {
			r3, n := utf8.DecodeRuneInString(s[end:])
			if !isWhitespace(r3) {
				break
			}
			last = end
			end += n
		}
		if end < len(s) && last > i {
			end = last
		}
		dst = append(dst, s[i:end])
		i = end
	}
	return dst
}

func contractionLen(s string) int {
	for _, c := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
		if strings.HasPrefix(s, c) {
			return len(c)
		}
	}
	return 0
}

// splitBehavior is what HF's Split does with the pieces its pattern finds.
type splitBehavior int

const (
	splitRemoved splitBehavior = iota
	splitIsolated
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

// regexSplit is HF's Split pre-tokenizer (CLIP uses it with invert=true).
type regexSplit struct {
	re       *regexp.Regexp
	literal  string
	behavior splitBehavior
	invert   bool
}

type span struct {
	start, end int
	delim      bool
}

func (p *regexSplit) split(dst []string, s string) []string {
	return p.behavior.apply(dst, s, p.spans(s))
}

// spans cuts s into the pattern's matches (delimiters, unless inverted)
// and the text between them, in order.
func (p *regexSplit) spans(s string) []span {
	var matches [][]int
	if p.re != nil {
		matches = p.re.FindAllStringIndex(s, -1)
	} else if p.literal != "" {
		for off := 0; ; {
			k := strings.Index(s[off:], p.literal)
			if k < 0 {
				break
			}
			matches = append(matches, []int{off + k, off + k + len(p.literal)})
			off += k + len(p.literal)
		}
	}
	spans := make([]span, 0, 2*len(matches)+1)
	prev := 0
	for _, m := range matches {
		if m[0] == m[1] {
			continue // empty matches delimit nothing
		}
		if m[0] > prev {
			spans = append(spans, span{prev, m[0], p.invert})
		}
		spans = append(spans, span{m[0], m[1], !p.invert})
		prev = m[1]
	}
	if prev < len(s) {
		spans = append(spans, span{prev, len(s), p.invert})
	}
	return spans
}

// apply emits the pieces of s that spans make under the behaviour.
func (behavior splitBehavior) apply(dst []string, s string, spans []span) []string {
	switch behavior {
	case splitRemoved:
		for _, sp := range spans {
			if !sp.delim {
				dst = append(dst, s[sp.start:sp.end])
			}
		}
	case splitIsolated:
		for _, sp := range spans {
			dst = append(dst, s[sp.start:sp.end])
		}
	case splitMergedWithPrevious:
		start := -1
		for _, sp := range spans {
			if start < 0 {
				start = sp.start
			}
			if sp.delim {
				dst = append(dst, s[start:sp.end])
				start = -1
			}
		}
		if start >= 0 {
			dst = append(dst, s[start:])
		}
	case splitMergedWithNext:
		start := -1
		for _, sp := range spans {
			if sp.delim {
				if start >= 0 {
					dst = append(dst, s[start:sp.start])
				}
				start = sp.start
			} else {
				if start < 0 {
					start = sp.start
				}
				dst = append(dst, s[start:sp.end])
				start = -1
			}
		}
		if start >= 0 {
			dst = append(dst, s[start:])
		}
	case splitContiguous:
		for i := 0; i < len(spans); {
			j := i + 1
			if spans[i].delim {
				for j < len(spans) && spans[j].delim {
					j++
				}
			}
			dst = append(dst, s[spans[i].start:spans[j-1].end])
			i = j
		}
	}
	return dst
}

// compileHFRegex compiles an Oniguruma pattern from a tokenizer.json with
// Go's regexp, first widening \s, \d and \w to their Unicode meaning (in
// RE2 they are ASCII-only). Patterns RE2 cannot express (lookaround,
// backreferences) fail here.
func compileHFRegex(pattern string) (*regexp.Regexp, error) {
	const space = `\t\n\v\f\r\x{85}\p{Z}`
	const word = `\p{L}\p{M}\p{Nd}\p{Pc}`
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			e := pattern[i+1]
			i++
			switch {
			case e == 's' && inClass:
				b.WriteString(space)
			case e == 's':
				b.WriteString("[" + space + "]")
			case e == 'S' && !inClass:
				b.WriteString("[^" + space + "]")
			case e == 'd':
				b.WriteString(`\p{Nd}`)
			case e == 'w' && inClass:
				b.WriteString(word)
			case e == 'w':
				b.WriteString("[" + word + "]")
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			if i+1 < len(pattern) && pattern[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(pattern) && pattern[i+1] == ']' {
				b.WriteByte(']') // a leading ] is literal
				i++
			}
		case c == '[' && inClass && strings.HasPrefix(pattern[i:], "[:"):
			end := strings.Index(pattern[i:], ":]")
			if end < 0 {
				return nil, fmt.Errorf("unterminated POSIX class in %q", pattern)
			}
			b.WriteString(pattern[i : i+end+2])
			i += end + 1
		case c == ']' && inClass:
			inClass = false
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	return re, nil
}

type preTokenizerJSON struct {
	Type           string            `json:"type"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Pretokenizers  []json.RawMessage `json:"pretokenizers"`
	Pattern        patternJSON       `json:"pattern"`
	Behavior       string            `json:"behavior"`
	Invert         bool              `json:"invert"`
}

func buildPreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var cfg preTokenizerJSON
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, invalidf("pre_tokenizer: %v", err)
	}
	switch cfg.Type {
	case "BertPreTokenizer":
		return bertPreTokenizer{}, nil
	case "Whitespace":
		return whitespacePreTokenizer{}, nil
	case "WhitespaceSplit":
		return whitespaceSplit{}, nil
	case "ByteLevel":
		return newByteLevel(boolOr(cfg.AddPrefixSpace, true), boolOr(cfg.UseRegex, true)), nil
	case "Split":
		p := &regexSplit{invert: cfg.Invert}
		switch cfg.Behavior {
		case "Removed":
			p.behavior = splitRemoved
		case "Isolated":
			p.behavior = splitIsolated
		case "MergedWithPrevious":
			p.behavior = splitMergedWithPrevious
		case "MergedWithNext":
			p.behavior = splitMergedWithNext
		case "Contiguous":
			p.behavior = splitContiguous
		default:
			return nil, unsupported("pre_tokenizer", cfg.Type, fmt.Sprintf("behavior %q", cfg.Behavior))
		}
		switch {
		case cfg.Pattern.Regex != nil:
			re, err := compileHFRegex(*cfg.Pattern.Regex)
			if err != nil {
				return nil, unsupported("pre_tokenizer", cfg.Type, err.Error())
			}
			p.re = re
		case cfg.Pattern.String != nil:
			p.literal = *cfg.Pattern.String
		default:
			return nil, invalidf("Split pre-tokenizer without pattern")
		}
		return p, nil
	case "Sequence":
		var seq preTokenizerSeq
		for _, sub := range cfg.Pretokenizers {
			p, err := buildPreTokenizer(sub)
			if err != nil {
				return nil, err
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, nil
	default:
		return nil, unsupported("pre_tokenizer", cfg.Type, "")
	}
}
