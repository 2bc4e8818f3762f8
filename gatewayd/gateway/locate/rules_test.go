package locate

import (
	"net/netip"
	"testing"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		name, in string
		want     Rule
		wantErr  bool
	}{
		{name: "ipv4", in: "10.1.0.0/16=eu-west", want: Rule{netip.MustParsePrefix("10.1.0.0/16"), "eu-west"}},
		{name: "masked", in: "10.1.2.3/16=eu-west", want: Rule{netip.MustParsePrefix("10.1.0.0/16"), "eu-west"}},
		{name: "ipv6", in: "2001:db8::/32=us-east", want: Rule{netip.MustParsePrefix("2001:db8::/32"), "us-east"}},
		{name: "ipv4-mapped", in: "::ffff:10.2.0.0/112=ap-south", want: Rule{netip.MustParsePrefix("10.2.0.0/16"), "ap-south"}},
		{name: "ipv4-mapped whole", in: "::ffff:0.0.0.0/96=any", want: Rule{netip.MustParsePrefix("0.0.0.0/0"), "any"}},
		{name: "ipv4-mapped too short", in: "::ffff:0.0.0.0/95=x", wantErr: true},
		{name: "no region", in: "10.0.0.0/8=", wantErr: true},
		{name: "no equals", in: "10.0.0.0/8", wantErr: true},
		{name: "bare address", in: "10.0.0.1=x", wantErr: true},
		{name: "bad cidr", in: "10.0.0.0/33=x", wantErr: true},
		{name: "zone", in: "fe80::%eth0/64=x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRule(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseRule(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("ParseRule(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func mustRules(t testing.TB, specs ...string) []Rule {
	t.Helper()
	rules := make([]Rule, len(specs))
	for i, s := range specs {
		r, err := ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		rules[i] = r
	}
	return rules
}

func TestRules(t *testing.T) {
	l, err := New(Config{
		Rules: mustRules(t,
			"0.0.0.0/0=v4-any",
			"10.0.0.0/8=ten",
			"10.1.0.0/16=ten-one",
			"10.1.2.0/24=ten-one-two",
			"10.1.2.3/32=host",
			"::ffff:192.168.0.0/112=lan", // IPv4-mapped rule
			"2001:db8::/32=doc6",
			"2001:db8:1::/48=doc6-one",
		),
		Fallback: "home",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ip, want, source string
	}{
		{"longest of four", "10.1.2.4", "ten-one-two", SourceRule},
		{"host route", "10.1.2.3", "host", SourceRule},
		{"middle", "10.1.9.9", "ten-one", SourceRule},
		{"shortest", "10.200.0.1", "ten", SourceRule},
		{"default route", "8.8.8.8", "v4-any", SourceRule},
		{"mapped client", "::ffff:10.1.2.4", "ten-one-two", SourceRule},
		{"mapped rule", "192.168.7.7", "lan", SourceRule},
		{"mapped rule, mapped client", "::ffff:192.168.7.7", "lan", SourceRule},
		{"ipv6 longest", "2001:db8:1::5", "doc6-one", SourceRule},
		{"ipv6 shorter", "2001:db8:2::5", "doc6", SourceRule},
		{"ipv6 unmatched, v4 default not applied", "2001:db9::1", "home", SourceFallback},
		{"ipv6 with zone", "2001:db8:1::5%eth0", "doc6-one", SourceRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			region, source := l.Lookup(netip.MustParseAddr(tt.ip))
			if region != tt.want || source != tt.source {
				t.Errorf("Lookup(%s) = %s, %s; want %s, %s", tt.ip, region, source, tt.want, tt.source)
			}
		})
	}
	if region, source := l.Lookup(netip.Addr{}); region != "home" || source != SourceFallback {
		t.Errorf("Lookup(zero) = %s, %s; want home, fallback", region, source)
	}
}

// TestRulesAgainstScan checks the table against a linear scan, with random
// rules, rules nested in them and default routes.
func TestRulesAgainstScan(t *testing.T) {
	rules := benchRules(t, 300)
	for i, r := range rules[:150] {
		bits := r.Prefix.Bits() + 1 + i%7
		if bits <= r.Prefix.Addr().BitLen() {
			rules = append(rules, Rule{netip.PrefixFrom(r.Prefix.Addr(), bits), "nested"})
		}
	}
	rules = append(rules, mustRules(t, "0.0.0.0/0=v4-default", "::/0=v6-default", "128.0.0.0/1=upper", "8000::/1=upper6")...)
	l, err := New(Config{Rules: rules, Fallback: "home"})
	if err != nil {
		t.Fatal(err)
	}
	addrs := benchAddrs(rules, 20000)
	addrs = append(addrs, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
	for _, r := range rules { // first and last address of every rule, and their neighbours
		first := r.Prefix.Addr()
		last := netipLast(r.Prefix)
		addrs = append(addrs, first, last, first.Prev(), last.Next())
	}
	for _, ip := range addrs {
		if !ip.IsValid() {
			continue
		}
		want, bits := "home", -1
		for _, r := range rules {
			if r.Prefix.Contains(ip) && r.Prefix.Bits() > bits {
				want, bits = r.Region, r.Prefix.Bits()
			}
		}
		if got, _ := l.Lookup(ip); got != want {
			t.Fatalf("Lookup(%s) = %s, want %s", ip, got, want)
		}
	}
}

func netipLast(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
