package webhooks

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// Every block IANA's special-purpose registries mark as not globally reachable, and the ones
// the design review adds, is refused; ordinary public addresses are not.
func TestPublicAddress(t *testing.T) {
	t.Parallel()
	refused := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.8.9.1",
		"169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.1.1",
		"198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
		"255.255.255.255",
		"::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:8.8.8.8", "::127.0.0.1", "64:ff9b::7f00:1",
		"64:ff9b:1::1", "100::1", "2001::1", "2001:db8::1", "2002:7f00:1::1", "3fff::1", "fc00::1", "fd00::1",
		"fe80::1", "fe80::1%eth0", "fec0::1", "ff02::1", "5f00::1",
	}
	for _, s := range refused {
		if PublicAddress(netip.MustParseAddr(s)) {
			t.Errorf("%s is allowed, want refused", s)
		}
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "93.184.215.14", "100.63.255.255", "100.128.0.1", "172.32.0.1",
		"192.169.0.1", "198.20.0.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "2001:4860:4860::8888"}
	for _, s := range allowed {
		if !PublicAddress(netip.MustParseAddr(s)) {
			t.Errorf("%s is refused, want allowed", s)
		}
	}
	if PublicAddress(netip.Addr{}) {
		t.Error("the zero address is allowed")
	}
}

// fakeResolver answers from a table; names not in it do not resolve.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = netip.MustParseAddr(a)
	}
	return out, nil
}

func TestHostAllowedAtSaveTime(t *testing.T) {
	t.Parallel()
	r := fakeResolver{
		"public.example":   {"93.184.215.14"},
		"internal.example": {"10.1.2.3"},
		"mixed.example":    {"93.184.215.14", "127.0.0.1"},
		"mapped.example":   {"::ffff:192.168.0.1"},
	}
	cases := map[string]bool{
		"public.example": true, "internal.example": false, "mixed.example": false, "mapped.example": false,
		"unresolvable.example": true, // the dial-time check decides
		"localhost":            false, "LOCALHOST.": false, "api.localhost": false,
		"127.0.0.1": false, "::1": false, "::ffff:127.0.0.1": false, "8.8.8.8": true,
	}
	for host, want := range cases {
		if got := hostAllowed(context.Background(), r, host); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestURLForm(t *testing.T) {
	t.Parallel()
	long := "https://example.com/" + string(make([]byte, 2048))
	for _, u := range []string{"ftp://example.com/", "example.com/hook", "https://user:pw@example.com/", "https://u@example.com/",
		"http:///path", "javascript:alert(1)", long, "https://exa mple.com/"} {
		if checkURLForm(u) == nil {
			t.Errorf("%q accepted", u)
		}
	}
	for _, u := range []string{"https://example.com/hook", "http://example.com:8080/a?b=c", "HTTPS://EXAMPLE.COM/"} {
		if fe := checkURLForm(u); fe != nil {
			t.Errorf("%q refused: %v", u, fe.Message)
		}
	}
}

func TestCheckEvents(t *testing.T) {
	t.Parallel()
	if fe := checkEvents([]string{"deal.updated", "nope.created", "contact.merged", "webhook.ping"}); fe == nil ||
		fe.Message != "holds unknown event types: nope.created, webhook.ping" {
		t.Fatalf("unknown types: %+v", fe)
	}
	for _, ok := range [][]string{{"*"}, {"deal.updated"}, EventTypes} {
		if fe := checkEvents(ok); fe != nil {
			t.Errorf("%v: %v", ok, fe.Message)
		}
	}
	for _, bad := range [][]string{{}, {"*", "deal.updated"}, {"deal.updated", "deal.updated"}} {
		if checkEvents(bad) == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestBackloggedOrganizationsGetLowerPriorities(t *testing.T) {
	t.Parallel()
	for backlog, want := range map[int]int{0: 1, 99: 1, 100: 2, 999: 2, 1000: 3, 4999: 3, 5000: 4} {
		if got := priorityFor(backlog); got != want {
			t.Errorf("priorityFor(%d) = %d, want %d", backlog, got, want)
		}
	}
}

// The wait after attempt n is the schedule's n-th, within ±10 % jitter, unless the receiver
// asked for longer with Retry-After (already capped at an hour when read).
func TestBackoffFollowsTheScheduleAndRetryAfter(t *testing.T) {
	t.Parallel()
	s := &Service{schedule: []time.Duration{time.Second, time.Minute}}
	for range 50 {
		if d := s.backoff(1, 0); d < 900*time.Millisecond || d > 1100*time.Millisecond {
			t.Fatalf("first wait %v", d)
		}
		if d := s.backoff(2, 0); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("second wait %v", d)
		}
	}
	if d := s.backoff(1, 30*time.Minute); d != 30*time.Minute {
		t.Fatalf("with Retry-After: %v", d)
	}
	if d := s.backoff(2, time.Second); d < 54*time.Second {
		t.Fatalf("a shorter Retry-After shortened the wait: %v", d)
	}
}
