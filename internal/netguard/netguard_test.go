package netguard

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestInternal(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		internal bool
	}{
		{"127.0.0.1", true}, {"127.1.2.3", true}, {"::1", true},
		{"10.0.0.1", true}, {"172.16.5.4", true}, {"192.168.1.1", true}, {"fd00::1", true},
		{"169.254.169.254", true}, {"fd00:ec2::254", true}, {"fe80::1", true},
		{"0.0.0.0", true}, {"::", true}, {"0.1.2.3", true}, {"100.64.0.1", true},
		{"224.0.0.1", true}, {"255.255.255.255", true}, {"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true},
		{"8.8.8.8", false}, {"93.184.216.34", false}, {"2606:4700::1111", false}, {"172.32.0.1", false},
	} {
		if got := Internal(netip.MustParseAddr(tc.addr)); got != tc.internal {
			t.Errorf("Internal(%s) = %v, want %v", tc.addr, got, tc.internal)
		}
	}
}

func TestAllowList(t *testing.T) {
	allow, err := ParsePrefixes([]string{"10.1.0.0/16", "192.168.7.7"})
	if err != nil {
		t.Fatal(err)
	}
	g := New(WithAllow(allow...))
	for _, tc := range []struct {
		addr string
		ok   bool
	}{{"10.1.2.3", true}, {"192.168.7.7", true}, {"192.168.7.8", false}, {"10.2.0.1", false}, {"127.0.0.1", false}, {"8.8.8.8", true}} {
		if err := g.Check(netip.MustParseAddr(tc.addr)); (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrBlocked) {
			t.Errorf("Check(%s) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
	if _, err := ParsePrefixes([]string{"not-an-address"}); err == nil {
		t.Error("ParsePrefixes accepted garbage")
	}
}

// The guarded client refuses a loopback server, follows no redirect to an
// internal address even from an allowed host, and never returns the
// refused server's bytes. Only loopback servers started here are used.
func TestClientRefusesInternalTargets(t *testing.T) {
	secret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "internal metrics")
	}))
	defer secret.Close()
	secretURL := secret.URL
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := map[string]string{
			"/v4":     "http://127.0.0.2:1/metrics",
			"/v6":     "http://[::1]:1/metrics",
			"/meta":   "http://169.254.169.254/latest/meta-data/",
			"/file":   "file:///etc/passwd",
			"/secret": secretURL,
		}[r.URL.Path]
		http.Redirect(w, r, target, http.StatusFound)
	}))
	defer redirect.Close()

	get := func(g *Guard, url string) error {
		resp, err := g.Client().Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}
	if err := get(New(), secret.URL); !errors.Is(err, ErrBlocked) {
		t.Errorf("loopback fetch: %v, want ErrBlocked", err)
	}
	if err := get(New(WithAllow(netip.MustParsePrefix("127.0.0.1/32"))), secret.URL); err != nil {
		t.Errorf("allowed loopback fetch: %v", err)
	}
	// The redirector itself is allowed; its targets are not.
	g := New(WithAllow(netip.MustParsePrefix("127.0.0.1/32")))
	for _, path := range []string{"/v4", "/v6", "/meta", "/file"} {
		if err := get(g, redirect.URL+path); !errors.Is(err, ErrBlocked) {
			t.Errorf("redirect %s: %v, want ErrBlocked", path, err)
		}
	}
	// Without the allow-list the redirector is refused before any byte.
	if err := get(New(), redirect.URL+"/secret"); !errors.Is(err, ErrBlocked) {
		t.Errorf("redirect to secret: %v, want ErrBlocked", err)
	}
}
