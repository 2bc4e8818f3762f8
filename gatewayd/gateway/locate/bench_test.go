package locate

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// benchRules returns n distinct random rules, four in five IPv4 (/8 to /32)
// and the rest IPv6 (/16 to /64), over 20 regions.
func benchRules(t testing.TB, n int) []Rule {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[netip.Prefix]bool{}
	var rules []Rule
	for len(rules) < n {
		var p netip.Prefix
		if rng.IntN(5) > 0 {
			var b [4]byte
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			p = netip.PrefixFrom(netip.AddrFrom4(b), 8+rng.IntN(25))
		} else {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			b[0] = 0x20
			p = netip.PrefixFrom(netip.AddrFrom16(b), 16+rng.IntN(49))
		}
		p = p.Masked()
		if seen[p] {
			continue
		}
		seen[p] = true
		rules = append(rules, Rule{Prefix: p, Region: fmt.Sprintf("region-%d", len(rules)%20)})
	}
	return rules
}

// benchAddrs returns n addresses, half inside random rules, half random.
func benchAddrs(rules []Rule, n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(3, 4))
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		r := rules[rng.IntN(len(rules))].Prefix
		b := r.Addr().As16()
		off := 0
		if r.Addr().Is4() {
			off = 12
		}
		for bit := r.Bits(); bit < r.Addr().BitLen(); bit++ {
			if i%2 == 1 || rng.IntN(2) == 0 {
				b[off+bit/8] ^= 1 << (7 - bit%8)
			}
		}
		if i%4 == 3 { // random, anywhere
			for j := off; j < 16; j++ {
				b[j] = byte(rng.Uint32())
			}
		}
		a := netip.AddrFrom16(b)
		if r.Addr().Is4() {
			a = a.Unmap()
		}
		addrs[i] = a
	}
	return addrs
}

func BenchmarkLocate(b *testing.B) {
	rules := benchRules(b, 100)
	l, err := New(Config{
		Rules:          rules,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")},
		Fallback:       "home",
	})
	if err != nil {
		b.Fatal(err)
	}
	addrs := benchAddrs(rules, 1024)
	var v4, v6 []netip.Addr
	for _, a := range addrs {
		if a.Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	run := func(name string, addrs []netip.Addr, xff ...string) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				l.Locate(addrs[i%len(addrs)], xff...)
				i++
			}
		})
	}
	run("ipv4", v4)
	run("ipv6", v6)
	run("mapped", []netip.Addr{netip.AddrFrom16(v4[0].As16())})
	run("xff-2-hops", []netip.Addr{netip.MustParseAddr("10.0.0.1")}, v4[0].String()+", 10.9.9.9")

	b.Run("request", func(b *testing.B) {
		r := httptest.NewRequest("GET", "/ipfs/x", nil)
		r.RemoteAddr = "10.0.0.1:4433"
		r.Header.Set("X-Forwarded-For", v4[0].String())
		b.ReportAllocs()
		for b.Loop() {
			l.Region(r)
		}
	})
}

func BenchmarkLocateGeoIP(b *testing.B) {
	l, err := New(Config{
		Rules:    benchRules(b, 100),
		GeoIP:    testDB(b),
		GeoMap:   map[string]string{"DE": "eu-central", "EU": "eu-west"},
		Fallback: "home",
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	for _, tt := range []struct{ ip, source string }{
		{"192.0.2.7", SourceGeoIP},    // country
		{"198.51.100.7", SourceGeoIP}, // dstor_region
		{"8.8.8.8", SourceFallback},   // not in the database
	} {
		b.Run(tt.ip, func(b *testing.B) {
			a := netip.MustParseAddr(tt.ip)
			if _, source := l.Locate(a); source != tt.source {
				b.Fatalf("source %s, want %s", source, tt.source)
			}
			b.ReportAllocs()
			for b.Loop() {
				l.Locate(a)
			}
		})
	}
}
