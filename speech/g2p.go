package speech

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Pronouncer gives ARPAbet pronunciations of words the dictionary lacks
// (brands, foreign product names). Words it cannot pronounce are left out
// of the result.
type Pronouncer interface {
	Pronounce(ctx context.Context, words []string) (map[string][]string, error)
}

// Espeak pronounces words with the espeak-ng program (its US English
// voice's IPA, mapped to the acoustic model's ARPAbet phones). Binary ""
// means "espeak-ng" on PATH.
type Espeak struct {
	Binary string
}

// Pronounce runs espeak-ng once for all words: one word a line, each
// ended by a full stop so that every word comes back on its own line.
func (e Espeak) Pronounce(ctx context.Context, words []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(words) == 0 {
		return out, nil
	}
	bin := e.Binary
	if bin == "" {
		bin = "espeak-ng"
	}
	var in bytes.Buffer
	for _, w := range words {
		in.WriteString(w + ".\n")
	}
	cmd := exec.CommandContext(ctx, bin, "-q", "--ipa", "--sep= ", "-v", "en-us")
	cmd.Stdin = &in
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("speech: espeak-ng: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != len(words) {
		return nil, fmt.Errorf("speech: espeak-ng gave %d lines for %d words", len(lines), len(words))
	}
	for i, l := range lines {
		if ph := IPAToARPAbet(l); len(ph) > 0 {
			out[words[i]] = ph
		}
	}
	return out, nil
}

// ipaPhones maps espeak-ng's IPA segments to ARPAbet. Longer segments are
// matched first.
var ipaPhones = map[string][]string{
	"ɑːɹ": {"AA", "R"}, "ɔːɹ": {"AO", "R"}, "oːɹ": {"AO", "R"}, "ɛɹ": {"EH", "R"}, "ɪɹ": {"IH", "R"},
	"ʊɹ": {"UH", "R"}, "ɜːɹ": {"ER"}, "aɪɚ": {"AY", "ER"}, "aɪə": {"AY", "AH"}, "iə": {"IY", "AH"},
	"ɑː": {"AA"}, "ɑ": {"AA"}, "ɒ": {"AA"}, "æ": {"AE"}, "ʌ": {"AH"}, "ə": {"AH"}, "ɐ": {"AH"},
	"ɚ": {"ER"}, "ɜː": {"ER"}, "ɜ": {"ER"}, "ɔː": {"AO"}, "ɔ": {"AO"}, "ɔɪ": {"OY"}, "aɪ": {"AY"},
	"aʊ": {"AW"}, "eɪ": {"EY"}, "e": {"EH"}, "ɛ": {"EH"}, "ɪ": {"IH"}, "ᵻ": {"IH"}, "iː": {"IY"},
	"i": {"IY"}, "oʊ": {"OW"}, "o": {"OW"}, "ʊ": {"UH"}, "uː": {"UW"}, "u": {"UW"}, "a": {"AA"},
	"b": {"B"}, "d": {"D"}, "f": {"F"}, "ɡ": {"G"}, "g": {"G"}, "h": {"HH"}, "dʒ": {"JH"}, "k": {"K"},
	"l": {"L"}, "m": {"M"}, "n": {"N"}, "ŋ": {"NG"}, "p": {"P"}, "ɹ": {"R"}, "r": {"R"}, "s": {"S"},
	"ʃ": {"SH"}, "t": {"T"}, "tʃ": {"CH"}, "θ": {"TH"}, "ð": {"DH"}, "v": {"V"}, "w": {"W"},
	"j": {"Y"}, "z": {"Z"}, "ʒ": {"ZH"}, "ɾ": {"T"}, "ʔ": {"T"}, "x": {"K"}, "ç": {"HH"}, "ɬ": {"L"},
	"əl": {"AH", "L"}, "ɫ": {"L"}, "y": {"UW"}, "ø": {"ER"}, "œ": {"ER"}, "ɵ": {"OW"},
}

// IPAToARPAbet maps one word of espeak-ng IPA (segments separated by
// spaces or not at all) to ARPAbet phones. Stress and length marks and
// joiners are dropped; a segment it does not know is matched by its
// longest known prefixes, and characters nothing matches are skipped.
func IPAToARPAbet(ipa string) []string {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case 'ˈ', 'ˌ', '\u200d', '\u0329', '\u0361', '-', '.':
			return -1
		}
		return r
	}, ipa)
	var out []string
	for _, seg := range strings.Fields(clean) {
		for rest := seg; rest != ""; {
			n, ph := longestSegment(rest)
			if n == 0 {
				_, size := firstRune(rest)
				rest = rest[size:]
				continue
			}
			out = append(out, ph...)
			rest = rest[n:]
		}
	}
	return out
}

func longestSegment(s string) (int, []string) {
	for n := min(len(s), 8); n > 0; n-- {
		if ph, ok := ipaPhones[s[:n]]; ok {
			return n, ph
		}
	}
	return 0, nil
}

func firstRune(s string) (rune, int) {
	for i, r := range s {
		if i == 0 {
			return r, len(string(r))
		}
	}
	return 0, 1
}
