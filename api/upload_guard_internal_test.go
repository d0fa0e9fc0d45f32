package api

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/models"
)

// TestGuardHandsOverScreenedBytes: the bytes the upload guard read and
// screened are the ones the handler gets (it does not read the part a
// second time), and a refused upload leaves nothing behind.
func TestGuardHandsOverScreenedBytes(t *testing.T) {
	png, err := os.ReadFile("../extractors/imageprep/testdata/chelsea.png")
	if err != nil {
		t.Fatal(err)
	}
	prep, err := imageprep.New(models.ImagePrep{ResizeShorter: 32, CropSize: 32, Scale: 1.0 / 255,
		Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}, Color: "RGB", Layout: "NCHW"})
	if err != nil {
		t.Fatal(err)
	}
	g := &uploadGuard{inspect: prep}
	for _, tc := range []struct {
		name     string
		body     []byte
		accepted bool
	}{
		{"photo", png, true},
		{"truncated", png[:len(png)/2], false},
	} {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("image", "x.png")
		fw.Write(tc.body)
		mw.Close()
		req := httptest.NewRequest(http.MethodPost, "/v1/search/image", &buf)
		req.Header.Set(echo.HeaderContentType, mw.FormDataContentType())
		c := echo.New().NewContext(req, httptest.NewRecorder())
		err := g.check(c)
		got, ok := screened(c)
		if tc.accepted && (err != nil || !ok || !bytes.Equal(got, tc.body)) {
			t.Errorf("%s: err %v, screened %d bytes (%v), want the %d uploaded", tc.name, err, len(got), ok, len(tc.body))
		}
		if !tc.accepted && (err == nil || ok) {
			t.Errorf("%s: err %v, screened %v: want refused with nothing handed over", tc.name, err, ok)
		}
	}
}
