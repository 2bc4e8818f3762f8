package locate

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseRule checks that a parsed rule is normalized and reads back the
// same from its own text.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8=eu", "::ffff:10.0.0.0/104=eu", "2001:db8::/32=us", "=", "1.2.3.4/32==x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		if r.Region == "" || r.Prefix != r.Prefix.Masked() || r.Prefix.Addr().Is4In6() {
			t.Fatalf("ParseRule(%q) = %v: not normalized", s, r)
		}
		again, err := ParseRule(r.Prefix.String() + "=" + r.Region)
		if err != nil || again != r {
			t.Fatalf("ParseRule(%q) = %v, but its text reads back as %v, %v", s, r, again, err)
		}
	})
}

// FuzzClientAddr checks that the client is the remote address, a hop of
// the header, and never left of an untrusted hop.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "1.1.1.1, 198.51.100.1, 10.9.9.9", "garbage, 10.1.1.1", "[2001:db8::1]:443,", ",,", "::ffff:10.0.0.1"} {
		f.Add("10.0.0.1", s)
		f.Add("203.0.113.1", s)
	}
	l, err := New(Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")},
		Fallback:       "home",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		ra, err := netip.ParseAddr(remote)
		if err != nil {
			return
		}
		got := l.ClientAddr(ra, xff)
		if !got.IsValid() || got.Is4In6() || got.Zone() != "" {
			t.Fatalf("ClientAddr(%s, %q) = %v", remote, xff, got)
		}
		ra = ra.Unmap().WithZone("")
		if got == ra {
			return
		}
		if !l.trusted(ra) {
			t.Fatalf("ClientAddr(%s, %q) = %v, read the header of an untrusted peer", remote, xff, got)
		}
		entries := strings.Split(xff, ",")
		for i := len(entries) - 1; i >= 0; i-- {
			hop, ok := parseHop(entries[i])
			if !ok {
				break
			}
			if hop == got {
				return
			}
			if !l.trusted(hop) {
				break
			}
		}
		t.Fatalf("ClientAddr(%s, %q) = %v, not a hop reached from the right", remote, xff, got)
	})
}
