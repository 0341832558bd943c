package dashboard

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads KARMAGATE_TRUSTED_PROXIES: a comma list of
// CIDRs (10.0.0.0/8, ::1/128) or single addresses, the proxies whose
// X-Forwarded-For names the client.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("KARMAGATE_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8, 172.16.0.0/12 or ::1/128 (nor an address)", truncate(f, 50))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// clientAddr is the address of the client behind r: the peer, unless the
// peer is a trusted proxy; then the nearest address in X-Forwarded-For that
// is not a trusted proxy (each proxy appends the address it got the request
// from, so those further left are the client's word and could be forged).
func (s *Server) clientAddr(r *http.Request) string { return addrText(clientAddr(r, s.proxies), r) }

// addrText is a client's address for the log: the peer as Go gives it when
// it is no address.
func addrText(a netip.Addr, r *http.Request) string {
	if !a.IsValid() {
		return r.RemoteAddr
	}
	return a.String()
}

func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	addr := peer.Addr().Unmap()
	if err != nil {
		if addr, err = netip.ParseAddr(r.RemoteAddr); err != nil {
			return netip.Addr{}
		}
	}
	if !isTrusted(addr, trusted) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // a hop that is no address: stop at the last good one
		}
		addr = h.Unmap()
		if !isTrusted(addr, trusted) {
			return addr
		}
	}
	return addr
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
