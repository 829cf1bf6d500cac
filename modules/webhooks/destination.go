package webhooks

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// refusedPrefixes are the address blocks a delivery never connects to: everything IANA's
// special-purpose address registries (RFC 6890 and successors) mark as not globally
// reachable, and the blocks the design review names besides (NAT64, 6to4, benchmarking).
// IPv6 is further held to global unicast (2000::/3), which leaves out the unspecified and
// loopback addresses, IPv4-mapped and IPv4-compatible forms, NAT64 (64:ff9b::/96 and
// 64:ff9b:1::/48), discard-only 100::/64, ULA fc00::/7, link-local fe80::/10, site-local
// fec0::/10 and multicast ff00::/8 in one rule.
var refusedPrefixes = mustPrefixes(
	// IPv4
	"0.0.0.0/8",       // "this network", the unspecified address
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // shared address space (CGNAT)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local (cloud metadata services live here)
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, the limited broadcast address included
	// IPv6
	"2001::/23",         // IETF protocol assignments (Teredo, ORCHID, benchmarking, …)
	"2001:db8::/32",     // documentation
	"2002::/16",         // 6to4
	"3fff::/20",         // documentation
	"64:ff9b::/96",      // NAT64 (outside 2000::/3 too; listed for the reader)
	"64:ff9b:1::/48",    // local-use NAT64
	"fc00::/7",          // unique local
	"fe80::/10",         // link-local
	"ff00::/8",          // multicast
	"::ffff:0.0.0.0/96", // IPv4-mapped
	"::/128", "::1/128", // unspecified, loopback
)

var globalUnicast6 = netip.MustParsePrefix("2000::/3")

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// PublicAddress reports whether a delivery may connect to a: a globally reachable unicast
// address. An address with a zone (fe80::1%eth0) never is; an IPv4-mapped IPv6 address is
// refused whatever IPv4 address it carries, as IANA marks the whole block.
func PublicAddress(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	if a.Is6() && !a.Is4In6() && !globalUnicast6.Contains(a) {
		return false
	}
	for _, p := range refusedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Resolver finds the addresses of a host name; *net.Resolver is one. Tests give a fake one to
// make a name resolve differently when it is saved and when it is dialled.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// localName reports names that always mean this machine (RFC 6761), whatever DNS says.
func localName(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// saveTimeLookup bounds the resolution done when an endpoint is saved.
const saveTimeLookup = 3 * time.Second

// hostAllowed is the save-time check of a URL's host (without brackets or port): an address
// literal must be public; a name must not be a local name, and when it resolves, every
// address must be public. A name that does not resolve is accepted: the check at connection
// time decides.
func hostAllowed(ctx context.Context, r Resolver, host string) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		return PublicAddress(a)
	}
	if localName(host) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, saveTimeLookup)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return true
	}
	for _, a := range addrs {
		// A resolver may hand an A record back in its IPv4-mapped form; it is that IPv4
		// address that will be dialled.
		if !PublicAddress(a.Unmap()) {
			return false
		}
	}
	return true
}
