package keypoints_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/extractors/keypoints"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// photo reads one of the Grocery Store Dataset's development shop photos
// (VITRINE_ASSETS, else the shared directory beside the module).
func photo(t *testing.T, rel string) []byte {
	t.Helper()
	root := os.Getenv("VITRINE_ASSETS")
	if root == "" {
		root = filepath.Join(testenv.Root(t), "..", "shared")
	}
	b, err := os.ReadFile(filepath.Join(root, "data", "grocery", rel))
	if err != nil {
		t.Fatalf("grocery photo (set VITRINE_ASSETS to the shared directory): %v", err)
	}
	return b
}

// catalogImage reads a demo catalog's packshot.
func catalogImage(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(t), "demo", "grocery", "images", name+".jpg"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func extract(t *testing.T, ex *keypoints.Extractor, b []byte) keypoints.Features {
	t.Helper()
	f, err := ex.Extract(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestShopPhotoVerifiesAgainstItsOwnPackage: a shop photo of a juice
// carton shares many inliers with its own packshot and few with a
// look-alike carton of the same group (what the visual embedding confuses),
// and a photo of apples shares few with either.
func TestShopPhotoVerifiesAgainstItsOwnPackage(t *testing.T) {
	ex, v := keypoints.NewExtractor(), keypoints.NewVerifier()
	own := extract(t, ex, catalogImage(t, "God-Morgon-Apple-Juice"))
	alike := extract(t, ex, catalogImage(t, "Bravo-Apple-Juice"))
	tests := []struct {
		name          string
		photo         string
		minOwn, maxAl int // inliers with own at least, with the look-alike at most
	}{
		{"juice carton", "val/Packages/Juice/God-Morgon-Apple-Juice/God-Morgon-Apple-Juice_001.jpg", 12, 8},
		{"apples", "val/Fruit/Apple/Golden-Delicious/Golden-Delicious_001.jpg", 0, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := extract(t, ex, photo(t, tc.photo))
			if q.Len() < 100 {
				t.Fatalf("%d keypoints on a 348 px photo, want 100 or more", q.Len())
			}
			nOwn, err := v.Inliers(q, own)
			if err != nil {
				t.Fatal(err)
			}
			nAl, err := v.Inliers(q, alike)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("inliers: own package %d, look-alike %d", nOwn, nAl)
			if nOwn < tc.minOwn || nAl > tc.maxAl || (tc.minOwn > 0 && nOwn <= nAl) {
				t.Errorf("inliers own %d (want ≥ %d), look-alike %d (want ≤ %d and fewer)", nOwn, tc.minOwn, nAl, tc.maxAl)
			}
		})
	}
}

// TestMarshalRoundTrip: stored features decode to the same features and
// verify the same; truncated or foreign bytes are refused.
func TestMarshalRoundTrip(t *testing.T) {
	ex, v := keypoints.NewExtractor(keypoints.WithMaxPoints(300)), keypoints.NewVerifier()
	f := extract(t, ex, catalogImage(t, "God-Morgon-Apple-Juice"))
	if f.Len() == 0 || f.Len() > 300 || len(f.Desc) != f.Len()*keypoints.DescLen {
		t.Fatalf("%d keypoints, %d descriptor bytes", f.Len(), len(f.Desc))
	}
	b := keypoints.Marshal(f)
	g, err := keypoints.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != f.Len() || string(g.Desc) != string(f.Desc) || g.Points[f.Len()-1] != f.Points[f.Len()-1] {
		t.Fatal("round trip changed the features")
	}
	if n, err := v.Inliers(f, g); err != nil || n < f.Len()/2 {
		t.Errorf("an image against itself: %d inliers of %d keypoints, %v", n, f.Len(), err)
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append([]byte{9}, b[1:]...)} {
		if _, err := keypoints.Unmarshal(bad); !errors.Is(err, keypoints.ErrBadEncoding) {
			t.Errorf("Unmarshal(%d bytes) = %v, want ErrBadEncoding", len(bad), err)
		}
	}
}

// TestPhotoVerifier: the port search by photo calls prepares the photo
// once and scores each stored blob, an empty one 0; it refuses an
// undecodable photo and a blob that is not features.
func TestPhotoVerifier(t *testing.T) {
	ex := keypoints.NewExtractor()
	pv := keypoints.NewPhotoVerifier(ex, keypoints.NewVerifier())
	own := keypoints.Marshal(extract(t, ex, catalogImage(t, "God-Morgon-Apple-Juice")))
	alike := keypoints.Marshal(extract(t, ex, catalogImage(t, "Bravo-Apple-Juice")))
	ctx := context.Background()
	pp, err := pv.Prepare(ctx, photo(t, "val/Packages/Juice/God-Morgon-Apple-Juice/God-Morgon-Apple-Juice_001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := pp(ctx, [][]byte{alike, nil, own})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1] != 0 || got[2] <= got[0] {
		t.Errorf("inliers %v, want [few 0 many]", got)
	}
	if _, err := pv.Prepare(ctx, []byte("not an image")); !errors.Is(err, keypoints.ErrCorrupt) {
		t.Errorf("undecodable photo: %v, want ErrCorrupt", err)
	}
	if _, err := pp(ctx, [][]byte{[]byte("x")}); !errors.Is(err, keypoints.ErrBadEncoding) {
		t.Errorf("bad stored blob: %v, want ErrBadEncoding", err)
	}
}

func nowMs() float64 { return float64(time.Now().UnixMicro()) / 1000 }

func catalogImageB(b *testing.B, name string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.Root(b), "demo", "grocery", "images", name+".jpg"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func extractB(b *testing.B, ex *keypoints.Extractor, data []byte) keypoints.Features {
	b.Helper()
	f, err := ex.Extract(data)
	if err != nil {
		b.Fatal(err)
	}
	return f
}
