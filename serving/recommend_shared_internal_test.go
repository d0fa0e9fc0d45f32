package serving

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// sampleRetrieval is a hybrid retrieval of the size a served one has:
// candidates (30 by factors, 30 nearest, 15 popular, 20 history) with
// 100-dimensional vectors and 32 factors, item-based scores, a deleted
// candidate (no product) and one without factors.
func sampleRetrieval(n int) retrieval {
	rng := rand.New(rand.NewPCG(1, 2))
	vec := func(d int) []float32 {
		v := make([]float32, d)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	r := retrieval{uf: vec(32), chosen: map[string]map[string]float64{"itemknn": {"p1": 0.5, "p2": math.Inf(1)}, "empty": {}},
		reads: candidateReads{read: map[string]bool{}, factors: map[string][]float32{}, vecs: map[string][]float32{}, products: map[string]catalog.Product{}}}
	for i := range n {
		id := fmt.Sprintf("syn-%07d", i)
		if i < 30 {
			r.top = append(r.top, records.Scored{ProductID: id, Score: rng.Float64()})
		} else if i < 60 {
			r.nn = append(r.nn, records.Neighbor{ProductID: id, Distance: rng.Float64()})
		}
		r.reads.read[id] = true
		r.reads.vecs[id] = vec(100)
		if i != 7 {
			r.reads.factors[id] = vec(32)
		}
		switch {
		case i == 3: // deleted since
		case i%5 == 0:
			r.reads.products[id] = catalog.Product{ID: id, Brand: "Orchard", Category: []string{"Fruit", "Apple"}}
		default:
			r.reads.products[id] = catalog.Product{ID: id}
		}
	}
	return r
}

// A stored retrieval decodes to exactly what was encoded, empty parts
// included (nil stays nil, so a request serves what the retrieving one
// did), and a payload cut short or of another format does not decode.
func TestRetrievalEncoding(t *testing.T) {
	cases := []struct {
		name string
		r    retrieval
	}{
		{"served size", sampleRetrieval(95)},
		{"content only", retrieval{nn: []records.Neighbor{{ProductID: "a", Distance: 0.25}}}},
		{"nothing found", retrieval{}},
		{"empty reads", retrieval{uf: []float32{}, reads: candidateReads{read: map[string]bool{}, factors: map[string][]float32{}, vecs: map[string][]float32{}, products: map[string]catalog.Product{}}}},
	}
	for _, c := range cases {
		b := encodeRetrieval(c.r)
		got, err := decodeRetrieval(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := c.r
		if len(want.chosen) == 0 {
			want.chosen = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded %+v, want %+v", c.name, got, want)
		}
		for cut := 0; cut < len(b); cut += 1 + cut/64 { // every cut near the start, a sample after
			if _, err := decodeRetrieval(b[:cut]); err == nil {
				t.Fatalf("%s: %d of %d bytes decoded", c.name, cut, len(b))
			}
		}
		if _, err := decodeRetrieval(b[:len(b)-1]); err == nil {
			t.Errorf("%s: all but the last byte decoded", c.name)
		}
		if _, err := decodeRetrieval(append([]byte{retrievalFormat + 1}, b[1:]...)); err == nil {
			t.Errorf("%s: another format decoded", c.name)
		}
	}
}

// gobForm is the retrieval as gob would encode it: the baseline of
// BenchmarkRetrievalEncoding.
type gobForm struct {
	UF         []float32
	Top        []records.Scored
	NN         []records.Neighbor
	Chosen     map[string]map[string]float64
	Factors    map[string][]float32
	Vecs       map[string][]float32
	Products   map[string][]string
	Read, Live []string
}

// Encoding and decoding a served-size retrieval (95 candidates), the
// compact encoding against gob, the baseline: bytes per payload are
// reported.
func BenchmarkRetrievalEncoding(b *testing.B) {
	r := sampleRetrieval(95)
	g := gobForm{UF: r.uf, Top: r.top, NN: r.nn, Chosen: r.chosen, Factors: r.reads.factors, Vecs: r.reads.vecs, Products: map[string][]string{}}
	for id, p := range r.reads.products {
		g.Live, g.Products[id] = append(g.Live, id), p.Category
	}
	for id := range r.reads.read {
		g.Read = append(g.Read, id)
	}
	b.Run("compact", func(b *testing.B) {
		var n int
		for b.Loop() {
			p := encodeRetrieval(r)
			if _, err := decodeRetrieval(p); err != nil {
				b.Fatal(err)
			}
			n = len(p)
		}
		b.ReportMetric(float64(n), "bytes")
	})
	b.Run("gob", func(b *testing.B) {
		var n int
		for b.Loop() {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(g); err != nil {
				b.Fatal(err)
			}
			n = buf.Len()
			var out gobForm
			if err := gob.NewDecoder(&buf).Decode(&out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "bytes")
	})
}
