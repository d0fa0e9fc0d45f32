package api_test

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/api"
)

// upload posts raw bytes as the multipart field "image".
func (fx *fixture) upload(data []byte) response {
	fx.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", "photo.png")
	_, _ = part.Write(data)
	_ = w.Close()
	return fx.do("POST", "/v1/search/image", fx.read, w.FormDataContentType(), body.Bytes())
}

// raw sends a request with extra headers, outside the contract check (for
// statuses a hostile client provokes: 429, 503).
func (fx *fixture) raw(method, path, key string, header map[string]string) (*http.Response, string) {
	fx.t.Helper()
	req, _ := http.NewRequest(method, fx.srv.URL+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func chunk(typ string, payload []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(payload)))
	b.WriteString(typ)
	b.Write(payload)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), payload...)))
	return b.Bytes()
}

// pngBomb is a 64x64 RGB PNG carrying raw bytes of zeros as image data.
func pngBomb(raw int) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 64)
	binary.BigEndian.PutUint32(ihdr[4:], 64)
	ihdr[8], ihdr[9] = 8, 2
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zeros := make([]byte, 1<<20)
	for left := raw; left > 0; left -= len(zeros) {
		_, _ = zw.Write(zeros[:min(left, len(zeros))])
	}
	_ = zw.Close()
	out := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", z.Bytes())...)
	return append(out, chunk("IEND", nil)...)
}

// Photo URLs never reach internal addresses, directly or by redirect, and
// the answer is the same for an open port, a closed one and a refused
// address, with none of the internal response in it. Only loopback
// servers started here are used.
func TestHostilePhotoURLs(t *testing.T) {
	secret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "SECRET vitrine_internal_metric 42")
	}))
	defer secret.Close()
	photo, err := os.ReadFile(filepath.Join(testRoot(t), "demo", "grocery", "images", "Red-Grapefruit.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/photo.jpg":
			_, _ = w.Write(photo)
		case "/to-v6":
			http.Redirect(w, r, "http://[::1]:9/metrics", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		}
	}))
	defer images.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + closed.Addr().String() + "/"
	closed.Close()

	guarded := newFixture(t)
	allowed := newFixtureWith(t, func(c *api.Config) { c.FetchAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	var detail string
	for _, tc := range []struct {
		name string
		fx   *fixture
		url  string
		want int
	}{
		{"loopback open port", guarded, secret.URL + "/metrics", 422},
		{"loopback closed port", guarded, closedURL, 422},
		{"localhost name", guarded, strings.Replace(secret.URL, "127.0.0.1", "localhost", 1), 422},
		{"metadata", guarded, "http://169.254.169.254/latest/meta-data/", 422},
		{"private", guarded, "http://10.0.0.1:5432/", 422},
		{"unspecified", guarded, "http://0.0.0.0:5432/", 422},
		{"mapped loopback", guarded, "http://[::ffff:127.0.0.1]:9/", 422},
		{"not http", guarded, "file:///etc/passwd", 422},
		{"allowed host redirects to ::1", allowed, images.URL + "/to-v6", 422},
		{"allowed host redirects to metadata", allowed, images.URL + "/to-metadata", 422},
		{"allowed host serves a photo", allowed, images.URL + "/photo.jpg", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.fx.post("/v1/search/image", tc.fx.read, map[string]any{"url": tc.url, "k": 3})
			if r.status != tc.want {
				t.Fatalf("%d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want != 422 {
				return
			}
			var p problemBody
			r.json(t, &p)
			if !p.names("url") || strings.Contains(string(r.body), "SECRET") || leaks(string(r.body)) != "" {
				t.Errorf("problem: %s", r.body)
			}
			if tc.url != "file:///etc/passwd" {
				if detail != "" && p.Detail != detail {
					t.Errorf("detail %q differs from %q: the answer tells targets apart", p.Detail, detail)
				}
				detail = p.Detail
			}
		})
	}
}

func testRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// Decompression bombs are 422s naming the image; a full upload queue is a
// 503 with Retry-After, and a normal photo is served once slots free.
func TestHostileUploads(t *testing.T) {
	fx := newFixtureWith(t, func(c *api.Config) { c.MaxUploads, c.UploadQueue = 2, 20*time.Millisecond; c.BodyLimit = "12M" })
	for _, raw := range []int{64*193 + 1, 64 << 20, 1 << 30} {
		r := fx.upload(pngBomb(raw))
		var p problemBody
		r.json(t, &p)
		if r.status != 422 || !p.names("image") {
			t.Errorf("PNG bomb of %d bytes: %d %s", raw, r.status, r.body)
		}
	}
	photo, err := os.ReadFile(filepath.Join(fx.images, "Red-Grapefruit.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	free := fx.api.TakeUploadSlots()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", "photo.jpg")
	_, _ = part.Write(photo)
	_ = w.Close()
	req, _ := http.NewRequest("POST", fx.srv.URL+"/v1/search/image", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+fx.read)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("upload with every slot taken: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	free()
	if r := fx.upload(photo); r.status != 200 {
		t.Errorf("photo after the burst: %d %s", r.status, r.body)
	}
}

// Spoofed X-Forwarded-For does not dodge the per-client limit unless the
// peer is a configured proxy; failed key checks are limited per client.
func TestHostileClients(t *testing.T) {
	t.Run("spoofed forwarding headers", func(t *testing.T) {
		fx := newFixtureWith(t, func(c *api.Config) { c.Auth, c.RateLimit, c.RateBurst = api.AuthOff, 1, 5 })
		limited := 0
		for i := range 30 {
			resp, _ := fx.raw("GET", "/v1/products/"+milk, "", map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i), "X-Real-IP": fmt.Sprintf("198.51.100.%d", i)})
			if resp.StatusCode == 429 {
				limited++
			}
		}
		if limited < 20 {
			t.Errorf("%d of 30 spoofed requests limited, want at least 20", limited)
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		fx := newFixtureWith(t, func(c *api.Config) {
			c.Auth, c.RateLimit, c.RateBurst = api.AuthOff, 1, 5
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		})
		for i := range 30 {
			resp, body := fx.raw("GET", "/v1/products/"+milk, "", map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i)})
			if resp.StatusCode != 200 {
				t.Fatalf("client %d behind a trusted proxy: %d %s", i, resp.StatusCode, body)
			}
		}
	})
	t.Run("failed key checks", func(t *testing.T) {
		fx := newFixture(t)
		codes := map[int]int{}
		for i := range 30 {
			resp, _ := fx.raw("GET", "/v1/products/"+milk, fmt.Sprintf("vk_guess%d_secret", i), nil)
			codes[resp.StatusCode]++
		}
		if codes[429] < 15 || codes[401] > 12 {
			t.Errorf("30 wrong keys: %v, want most refused with 429 after the burst", codes)
		}
	})
}

// A body that does not arrive in time is a 408, not a 500.
func TestHostileSlowBody(t *testing.T) {
	fx := newFixture(t)
	slow := httptest.NewUnstartedServer(fx.api.Handler())
	slow.Config.ReadTimeout = 300 * time.Millisecond
	slow.Start()
	defer slow.Close()
	conn, err := net.Dial("tcp", slow.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/rank HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":", fx.read)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("slow body: %d, want 408", resp.StatusCode)
	}
}

// With the database gone, serving answers 503 with Retry-After and
// /readyz says what is down without naming sockets or users.
func TestHostileDatabaseDown(t *testing.T) {
	fx := newFixture(t)
	fx.st.Close()
	resp, body := fx.raw("GET", "/v1/search?q=milk", fx.read, nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("search without a database: %d %s", resp.StatusCode, body)
	}
	resp, body = fx.raw("GET", "/readyz", "", nil)
	if resp.StatusCode != 503 || !strings.Contains(body, `"database":"unavailable"`) || leaks(body) != "" ||
		strings.Contains(body, "postgres") || strings.Contains(body, ".s.PGSQL") || strings.Contains(body, "dial") {
		t.Errorf("readyz without a database: %d %s", resp.StatusCode, body)
	}
}
