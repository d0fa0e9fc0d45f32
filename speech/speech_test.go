package speech_test

import (
	"bufio"
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/speech"
)

func TestWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Skimmed milk lactose free 1,5%", []string{"skimmed", "milk", "lactose", "free"}},
		{"Mild & Creamy Vanilla Soyghurt", []string{"mild", "creamy", "vanilla", "soyghurt"}},
		{"Äpple Färskpressad Juice", []string{"äpple", "färskpressad", "juice"}},
		{"'quoted' don't", []string{"quoted", "don't"}},
		{"12% 3", nil},
	} {
		if got := speech.Words(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Words(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// arpa parses the unigram and bigram sections of an ARPA model (log10).
func arpa(t *testing.T, text string) (uni, bow map[string]float64, bi map[[2]string]float64) {
	t.Helper()
	uni, bow, bi = map[string]float64{}, map[string]float64{}, map[[2]string]float64{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 1 && strings.HasPrefix(f[0], "\\"):
			section = f[0]
		case section == "\\1-grams:" && len(f) >= 2:
			uni[f[1]], _ = strconv.ParseFloat(f[0], 64)
			if len(f) == 3 {
				bow[f[1]], _ = strconv.ParseFloat(f[2], 64)
			}
		case section == "\\2-grams:" && len(f) == 3:
			bi[[2]string{f[1], f[2]}], _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return uni, bow, bi
}

func TestWriteARPASumsToOne(t *testing.T) {
	var b strings.Builder
	vocab, err := speech.WriteARPA(&b, []string{"Oatly Oat Milk", "Arla Milk", "Arla Sour Cream", "Milk", "1,5%"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"arla", "cream", "milk", "oat", "oatly", "sour"}; !slices.Equal(vocab, want) {
		t.Fatalf("vocabulary %q, want %q", vocab, want)
	}
	uni, bow, bi := arpa(t, b.String())
	// Every history's next-word distribution (seen bigrams plus the
	// weighted unigrams of the unseen words) sums to one.
	for _, h := range append([]string{"<s>"}, vocab...) {
		sum := 0.0
		for w, lp := range uni {
			if w == "<s>" {
				continue
			}
			if p, ok := bi[[2]string{h, w}]; ok {
				sum += math.Pow(10, p)
			} else {
				sum += math.Pow(10, bow[h]+lp)
			}
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Errorf("P(·|%s) sums to %v", h, sum)
		}
	}
	if _, err := speech.WriteARPA(&b, []string{"12%", ""}); !errors.Is(err, speech.ErrNoVocabulary) {
		t.Errorf("no words: %v, want ErrNoVocabulary", err)
	}
}

func TestIPAToARPAbet(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ˈɑːɹ l ə", "AA R L AH"},
		{"ˈoʊ t l i", "OW T L IY"},
		{"ˈæ l p ɹ oʊ", "AE L P R OW"},
		{"ɡˈe\u200dɪliə", "G EY L IY AH"},
		{"ˈænd\u200dʒuː", "AE N JH UW"},
		{"☃", ""},
	} {
		if got := strings.Join(speech.IPAToARPAbet(c.in), " "); got != c.want {
			t.Errorf("IPAToARPAbet(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEspeakPronounces(t *testing.T) {
	got, err := speech.Espeak{}.Pronounce(context.Background(), []string{"oatly", "alpro", "satsumas"})
	if err != nil {
		t.Fatal(err)
	}
	for w, want := range map[string]string{"oatly": "OW T L IY", "alpro": "AE L P R OW"} {
		if strings.Join(got[w], " ") != want {
			t.Errorf("%s: %q, want %q", w, got[w], want)
		}
	}
	if len(got["satsumas"]) < 5 {
		t.Errorf("satsumas: %q", got["satsumas"])
	}
}

// TestCatalogModelHearsBrands: spoken product names with brands the
// general dictionary lacks are heard word for word once the catalog model
// is built, and not before.
func TestCatalogModelHearsBrands(t *testing.T) {
	ctx := context.Background()
	r, err := speech.New(speech.WithDecoders(2), speech.WithAlternatives(3))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	q := speak(t, "Alpro Blueberry Soyghurt", "en-us+klatt2", "170")
	before, err := r.Recognize(ctx, q, speech.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	if before.Model != speech.Catalog || strings.Contains(before.Text, "soyghurt") {
		t.Fatalf("before the catalog model: %+v", before)
	}
	if ok, _ := r.HasCatalog(); ok {
		t.Fatal("HasCatalog before Build")
	}
	phrases := []string{"Alpro Blueberry Soyghurt", "Alpro Vanilla Soyghurt", "Oatly Oat Milk", "Arla Sour Cream", "Red Bell Pepper", "Galia Melon"}
	if err := r.Build(ctx, phrases); err != nil {
		t.Fatal(err)
	}
	if ok, n := r.HasCatalog(); !ok || n != 15 {
		t.Fatalf("HasCatalog = %v, %d words; want true, 15", ok, n)
	}
	for model, want := range map[string]string{speech.Catalog: speech.Catalog, "": speech.Catalog, speech.CatalogOnly: speech.CatalogOnly} {
		got, err := r.Recognize(ctx, q, model)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != "alpro blueberry soyghurt" || got.Model != want || got.Confidence <= 0.2 || got.Confidence > 1 {
			t.Errorf("model %q: %+v", model, got)
		}
		// The transcript is the first reading; the catalog model's
		// next-best paths (none here: a clean clip) may follow, at most
		// three in all.
		if len(got.Readings) < 1 || len(got.Readings) > 3 || got.Readings[0] != got.Text {
			t.Errorf("model %q: readings %q, want the transcript first of at most 3", model, got.Readings)
		}
	}
	// Something else said: no path through the catalog phrases, so the
	// catalog recognition falls back to the interpolated model.
	other, err := r.Recognize(ctx, speak(t, "where are the batteries", "en-us+klatt", "150"), speech.Catalog)
	if err != nil || !other.Mixed || !strings.HasPrefix(other.Text, "where are the") {
		t.Errorf("out of the catalog: %+v, %v; want the mixed model's where are the ...", other, err)
	}
	// After a fallback the catalog model's own transcript is a reading too.
	if len(other.Readings) < 2 || other.Readings[0] != other.Text || strings.Contains(other.Readings[1], "where") {
		t.Errorf("out of the catalog: readings %q, want the mixed transcript then the catalog model's", other.Readings)
	}
	if got, _ := r.Recognize(ctx, q, speech.Catalog); got.Mixed {
		t.Errorf("a catalog phrase fell back: %+v", got)
	}
	gen, err := r.Recognize(ctx, q, speech.General)
	if err != nil || gen.Model != speech.General || strings.Contains(gen.Text, "soyghurt") {
		t.Errorf("general model: %+v, %v", gen, err)
	}
	if _, err := r.Recognize(ctx, q, "klingon"); !errors.Is(err, speech.ErrUnknownModel) {
		t.Errorf("unknown model: %v", err)
	}
}

// TestSearchArgs: PocketSphinx arguments reach the decoders; one it does
// not know fails the load.
func TestSearchArgs(t *testing.T) {
	r, err := speech.New(speech.WithSearchArgs("-beam", "1e-30", "-ds", "2"))
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := speech.New(speech.WithSearchArgs("-nosuchbeam", "1")); !errors.Is(err, speech.ErrModel) {
		t.Errorf("an unknown argument: %v, want ErrModel", err)
	}
}

func TestMissingModel(t *testing.T) {
	_, err := speech.New(speech.WithModel(speech.ModelIn(t.TempDir())))
	if !errors.Is(err, speech.ErrModel) {
		t.Fatalf("got %v, want ErrModel", err)
	}
}
