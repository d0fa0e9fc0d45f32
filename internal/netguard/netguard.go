// Package netguard owns outbound HTTP fetches made on a client's behalf
// (a photo URL to search by, product media): it refuses to connect to
// loopback, private, link-local (cloud metadata included), carrier-grade
// NAT, multicast, broadcast and unspecified addresses. The check runs in
// the dialer, after DNS resolution and for every connection, so a public
// name that resolves to an internal address, a DNS rebinding and a
// redirect to an internal service are all refused alike. An allow-list of
// prefixes lets a shop fetch media it hosts internally.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlocked is wrapped by every refusal to reach an address.
var ErrBlocked = errors.New("address not allowed")

// maxRedirects bounds the redirects one fetch follows.
const maxRedirects = 5

// Guard decides which addresses outbound fetches may reach.
type Guard struct {
	allow   []netip.Prefix
	timeout time.Duration
}

// Option configures a Guard.
type Option func(*Guard)

// WithAllow lets fetches reach these prefixes even though they are
// internal (a media host on the shop's own network).
func WithAllow(prefixes ...netip.Prefix) Option {
	return func(g *Guard) { g.allow = append(g.allow, prefixes...) }
}

// WithTimeout bounds one whole fetch, redirects included (default 15 s).
func WithTimeout(d time.Duration) Option { return func(g *Guard) { g.timeout = d } }

// New returns a guard refusing every internal address not allowed.
func New(opts ...Option) *Guard {
	g := &Guard{timeout: 15 * time.Second}
	for _, o := range opts {
		o(g)
	}
	return g
}

// ParsePrefixes parses allow-list entries: CIDR prefixes ("10.1.0.0/16")
// or single addresses ("10.1.2.3").
func ParsePrefixes(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("netguard: %q is neither an address nor a CIDR prefix", e)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Internal reports whether an address is one a fetch on a client's behalf
// must not reach unless allowed.
func Internal(a netip.Addr) bool {
	a = a.Unmap()
	cgnat := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, 0}), 10) // RFC 6598 shared space
	return !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() ||
		a.IsUnspecified() || cgnat.Contains(a) || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) ||
		(a.Is4() && a.As4()[0] == 0)
}

// Check returns an error wrapping ErrBlocked when the guard refuses a.
func (g *Guard) Check(a netip.Addr) error {
	a = a.Unmap()
	for _, p := range g.allow {
		if p.Contains(a) {
			return nil
		}
	}
	if Internal(a) {
		return fmt.Errorf("%w: %s is internal", ErrBlocked, a)
	}
	return nil
}

// control is a net.Dialer Control hook: it runs for every connection
// attempt, with the resolved address, before any packet is sent.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBlocked, err)
	}
	return g.Check(ap.Addr())
}

// Client returns an HTTP client whose every connection passes the guard;
// it ignores proxy environment variables, follows at most a few
// redirects, only to http(s), and gives up after the guard's timeout.
func (g *Guard) Client() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: g.control}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: g.timeout, CheckRedirect: checkRedirect}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrBlocked, maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: redirect to a %q URL", ErrBlocked, req.URL.Scheme)
	}
	return nil
}

// DialContext dials like the guarded client does (for callers that build
// their own transport).
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: g.control}
	return d.DialContext(ctx, network, address)
}
