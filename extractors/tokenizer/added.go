package tokenizer

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// addedToken is an entry of added_tokens: text that is matched verbatim
// before the model runs ([CLS], <|endoftext|>, ...).
type addedToken struct {
	content                    string
	id                         int64
	lstrip, rstrip, singleWord bool
}

// segment is a run of plain text (id < 0) or one matched added token.
type segment struct {
	text string
	id   int64
}

// addedMatcher finds added tokens leftmost-longest, like tokenizers'
// Aho-Corasick pass. Files have a handful of added tokens, so a first-byte
// filter plus prefix checks is fast enough.
type addedMatcher struct {
	tokens []addedToken // longest first
	first  [256]bool
}

func newAddedMatcher(tokens []addedToken) *addedMatcher {
	if len(tokens) == 0 {
		return nil
	}
	m := &addedMatcher{tokens: tokens}
	sort.SliceStable(m.tokens, func(i, j int) bool { return len(m.tokens[i].content) > len(m.tokens[j].content) })
	for _, t := range m.tokens {
		m.first[t.content[0]] = true
	}
	return m
}

// split appends the segments of s to dst. A nil matcher yields s whole.
func (m *addedMatcher) split(dst []segment, s string) []segment {
	if m == nil {
		return append(dst, segment{text: s, id: -1})
	}
	plain := 0
	for i := 0; i < len(s); i++ {
		if !m.first[s[i]] {
			continue
		}
		for _, t := range m.tokens {
			end := i + len(t.content)
			if !strings.HasPrefix(s[i:], t.content) {
				continue
			}
			if t.singleWord && (endsWithWordRune(s[:i]) || startsWithWordRune(s[end:])) {
				continue
			}
			start := i
			if t.lstrip {
				for start > plain {
					r, n := utf8.DecodeLastRuneInString(s[plain:start])
					if !isWhitespace(r) {
						break
					}
					start -= n
				}
			}
			if t.rstrip {
				for end < len(s) {
					r, n := utf8.DecodeRuneInString(s[end:])
					if !isWhitespace(r) {
						break
					}
					end += n
				}
			}
			if start > plain {
				dst = append(dst, segment{text: s[plain:start], id: -1})
			}
			dst = append(dst, segment{text: s[start:end], id: t.id})
			plain = end
			i = end - 1
			break
		}
	}
	if plain < len(s) {
		dst = append(dst, segment{text: s[plain:], id: -1})
	}
	return dst
}

func endsWithWordRune(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	return n > 0 && isWordRune(r)
}

func startsWithWordRune(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return n > 0 && isWordRune(r)
}
