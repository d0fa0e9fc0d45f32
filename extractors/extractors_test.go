package extractors_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

func open(t *testing.T, name string) extractors.Encoder {
	t.Helper()
	m := testenv.Manifest(t, name)
	e, err := extractors.Open(t.Context(), testenv.Runtime(t), m, testenv.ModelDir(t), extractors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mirror flips a PNG left to right.
func mirror(t *testing.T, data []byte) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(b.Max.X-1-(x-b.Min.X), y, img.At(x, y))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func imagePath(name string) string { return filepath.Join("imageprep", "testdata", name) }

func TestImageEncoderMobileNet(t *testing.T) {
	e := open(t, "mobilenetv2-int8")
	cat := read(t, imagePath("chelsea.png"))

	// The ImageNet head through the same preprocessing: a cat class.
	logits, err := e.(extractors.Classifier).Classify(t.Context(), cat)
	if err != nil {
		t.Fatal(err)
	}
	top := 0
	for i, v := range logits {
		if v > logits[top] {
			top = i
		}
	}
	if top < 281 || top > 285 {
		t.Errorf("chelsea.png top ImageNet class %d, want a cat (281-285)", top)
	}

	inputs := [][]byte{cat, mirror(t, cat), read(t, imagePath("coffee.png")), read(t, imagePath("rocket.jpg")), []byte("not an image")}
	vecs, errs, err := e.EncodeBatch(t.Context(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if errs[i] != nil || len(vecs[i]) != 1280 {
			t.Fatalf("input %d: %v (dim %d)", i, errs[i], len(vecs[i]))
		}
	}
	if !errors.Is(errs[4], imageprep.ErrUnsupportedFormat) || vecs[4] != nil {
		t.Errorf("garbage input: err %v", errs[4])
	}
	t.Logf("chelsea.png: top ImageNet class %d; cos(cat, mirror) %.3f; cos(cat, coffee) %.3f; cos(cat, rocket) %.3f",
		top, cosine(t, vecs[0], vecs[1]), cosine(t, vecs[0], vecs[2]), cosine(t, vecs[0], vecs[3]))
	if c := cosine(t, vecs[0], vecs[1]); c <= 0.95 {
		t.Errorf("cos(cat, mirrored cat) = %.3f, want > 0.95", c)
	}
	if c := cosine(t, vecs[0], vecs[2]); c >= cosine(t, vecs[0], vecs[1]) {
		t.Errorf("cat is as close to coffee (%.3f) as to its mirror image", c)
	}
	if n := cosine(t, vecs[0], vecs[0]); math.Abs(n-1) > 1e-6 {
		t.Errorf("not normalised")
	}

	// A single Encode gives the batch's answer.
	one, err := e.Encode(t.Context(), cat)
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine(t, one, vecs[0]); c < 0.9999 {
		t.Errorf("single vs batch cosine %.6f", c)
	}
}

func TestTextEncoderGloVe(t *testing.T) {
	e := open(t, "glove-100d")
	texts := []string{"running shoes", "sneakers", "kitchen knife", "", "qqqzzzx xxyyzzq"}
	in := make([][]byte, len(texts))
	for i, s := range texts {
		in[i] = []byte(s)
	}
	vecs, errs, err := e.EncodeBatch(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if errs[i] != nil || len(vecs[i]) != 100 {
			t.Fatalf("%q: %v", texts[i], errs[i])
		}
	}
	shoes, sneakers, knife := vecs[0], vecs[1], vecs[2]
	t.Logf("cos(running shoes, sneakers) %.3f, cos(running shoes, kitchen knife) %.3f", cosine(t, shoes, sneakers), cosine(t, shoes, knife))
	if a, b := cosine(t, shoes, sneakers), cosine(t, shoes, knife); a <= b {
		t.Errorf("cos(running shoes, sneakers) %.3f <= cos(running shoes, kitchen knife) %.3f", a, b)
	}
	for _, i := range []int{3, 4} {
		if !errors.Is(errs[i], extractors.ErrEmptyInput) {
			t.Errorf("%q: err %v, want ErrEmptyInput", texts[i], errs[i])
		}
	}
	// Batch padding must not change an item's vector.
	alone, err := e.Encode(t.Context(), []byte("running shoes"))
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine(t, alone, shoes); c < 0.99999 {
		t.Errorf("padding changed the embedding: cos %.6f", c)
	}
	// Over-long text is truncated, not an error.
	long := bytes.Repeat([]byte("apple banana "), 5000)
	if _, err := e.Encode(t.Context(), long); err != nil {
		t.Errorf("long text: %v", err)
	}
}

// Concurrent single calls are coalesced and each gets its own answer.
func TestConcurrentEncode(t *testing.T) {
	e := open(t, "glove-100d")
	words := []string{"apple", "banana", "milk", "juice", "yoghurt", "pepper", "tomato", "potato"}
	want, errs, err := e.EncodeBatch(context.Background(), func() [][]byte {
		var in [][]byte
		for _, w := range words {
			in = append(in, []byte(w))
		}
		return in
	}())
	if err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	var wg sync.WaitGroup
	got := make([][]float32, len(words)*4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := e.Encode(t.Context(), []byte(words[i%len(words)]))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for i, v := range got {
		if c := cosine(t, v, want[i%len(words)]); c < 0.99999 {
			t.Errorf("call %d (%s): cos %.6f to its batch vector", i, words[i%len(words)], c)
		}
	}
}

// Photo -> product retrieval on the grocery data, image vectors only.
func TestGroceryPhotoRetrieval(t *testing.T) {
	src := filepath.Join(testenv.Root(t), "..", "shared", "data", "grocery")
	if a := os.Getenv("VITRINE_ASSETS"); a != "" {
		src = filepath.Join(a, "data", "grocery")
	}
	acc1, acc5, n := photoAccuracy(t, open(t, "mobilenetv2-int8"), src)
	t.Logf("grocery photo->product over %d dev photos: accuracy@1 %.3f, accuracy@5 %.3f", n, acc1, acc5)
	// 81 classes: chance is 0.012 @1 and 0.062 @5; a working embedding is far above.
	if acc5 < 0.3 {
		t.Errorf("accuracy@5 %.3f is near chance", acc5)
	}
}

func photoAccuracy(t *testing.T, e extractors.Encoder, src string) (float64, float64, int) {
	t.Helper()
	catalog := filepath.Join(testenv.Root(t), "demo", "grocery", "images")
	classes := readClasses(t, filepath.Join(src, "classes.csv"))
	var names []string
	var imgs [][]byte
	for _, c := range classes {
		names = append(names, c)
		imgs = append(imgs, read(t, filepath.Join(catalog, c+".jpg")))
	}
	cvecs, errs, err := e.EncodeBatch(t.Context(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("catalog image %s: %v", names[i], e)
		}
	}
	photos := readPhotos(t, filepath.Join(src, "photos_dev.txt"))
	var hit1, hit5 int
	for _, p := range photos {
		v, err := e.Encode(t.Context(), read(t, filepath.Join(src, p.path)))
		if err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		type scored struct {
			class int
			s     float64
		}
		var ss []scored
		for i, cv := range cvecs {
			ss = append(ss, scored{i, cosine(t, v, cv)})
		}
		sort.Slice(ss, func(a, b int) bool { return ss[a].s > ss[b].s })
		for r := range 5 {
			if ss[r].class == p.class {
				if r == 0 {
					hit1++
				}
				hit5++
				break
			}
		}
	}
	n := len(photos)
	return float64(hit1) / float64(n), float64(hit5) / float64(n), n
}

// Over the FSDD recordings (digits 0-9, two speakers), two recordings of
// the same digit are on average closer than recordings of different digits.
func TestAudioEncoderFSDD(t *testing.T) {
	e := open(t, "speech-embedding")
	dir := filepath.Join(testenv.Root(t), "..", "shared", "data", "audio", "fsdd")
	if a := os.Getenv("VITRINE_ASSETS"); a != "" {
		dir = filepath.Join(a, "data", "audio", "fsdd")
	}
	var inputs [][]byte
	var digits []int
	for d := range 10 {
		for _, sp := range []string{"jackson", "theo"} {
			inputs = append(inputs, read(t, filepath.Join(dir, fmt.Sprintf("%d_%s_0.wav", d, sp))))
			digits = append(digits, d)
		}
	}
	vecs, errs, err := e.EncodeBatch(t.Context(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil || len(vecs[i]) != 96 {
			t.Fatalf("recording %d: %v", i, err)
		}
	}
	var same, diff float64
	var ns, nd int
	for i := range vecs {
		for j := i + 1; j < len(vecs); j++ {
			if digits[i] == digits[j] {
				same += cosine(t, vecs[i], vecs[j])
				ns++
			} else {
				diff += cosine(t, vecs[i], vecs[j])
				nd++
			}
		}
	}
	same, diff = same/float64(ns), diff/float64(nd)
	t.Logf("FSDD mean cosine: same digit %.3f, different digits %.3f", same, diff)
	if same <= diff {
		t.Errorf("same-digit recordings (%.3f) are not closer than different digits (%.3f)", same, diff)
	}
	// Bad audio fails alone.
	_, errs, err = e.EncodeBatch(t.Context(), [][]byte{[]byte("RIFF\x00\x00"), inputs[0]})
	if err != nil || errs[0] == nil || errs[1] != nil {
		t.Errorf("corrupt WAV: batch err %v, item errs %v", err, errs)
	}
}
