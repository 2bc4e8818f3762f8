package locate

import (
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	l, err := New(Config{
		TrustedProxies: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("192.168.1.1/32"),
			netip.MustParsePrefix("fd00::/8"),
		},
		Fallback: "home",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"no header", "203.0.113.9", nil, "203.0.113.9"},
		{"untrusted client, spoofed header ignored", "203.0.113.9", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted proxy, one hop", "10.0.0.1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy, no header", "10.0.0.1", nil, "10.0.0.1"},
		{"trusted proxy, empty header", "10.0.0.1", []string{""}, "10.0.0.1"},
		{"client-supplied entries left of the real client ignored", "10.0.0.1", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"multi-hop through trusted proxies", "10.0.0.1", []string{"6.6.6.6, 198.51.100.1, 192.168.1.1, 10.9.9.9"}, "198.51.100.1"},
		{"multi-hop, several header lines", "10.0.0.1", []string{"6.6.6.6, 198.51.100.1", "192.168.1.1", "10.9.9.9"}, "198.51.100.1"},
		{"all hops trusted", "10.0.0.1", []string{"10.2.2.2, 192.168.1.1"}, "10.2.2.2"},
		{"malformed entry stops at last good hop", "10.0.0.1", []string{"198.51.100.1, garbage, 10.3.3.3"}, "10.3.3.3"},
		{"malformed rightmost", "10.0.0.1", []string{"198.51.100.1, unknown"}, "10.0.0.1"},
		{"empty entry", "10.0.0.1", []string{"198.51.100.1,,10.3.3.3"}, "10.3.3.3"},
		{"trailing comma", "10.0.0.1", []string{"198.51.100.1,"}, "10.0.0.1"},
		{"malformed left of client not read", "10.0.0.1", []string{"garbage, 198.51.100.1"}, "198.51.100.1"},
		{"entry with port", "10.0.0.1", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"ipv6 entry", "10.0.0.1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"ipv6 entry with port", "10.0.0.1", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"ipv6 trusted proxy", "fd00::1", []string{"2001:db8::1, fd12::7"}, "2001:db8::1"},
		{"mapped remote is trusted", "::ffff:10.0.0.1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"mapped entry unmapped", "10.0.0.1", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"mapped trusted hop skipped", "10.0.0.1", []string{"198.51.100.1, ::ffff:10.4.4.4"}, "198.51.100.1"},
		{"spaces", "10.0.0.1", []string{"  198.51.100.1  ,  10.3.3.3 "}, "198.51.100.1"},
		{"zone dropped", "10.0.0.1", []string{"fe80::1%eth0"}, "fe80::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := l.ClientAddr(netip.MustParseAddr(tt.remote), tt.xff...)
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("ClientAddr(%s, %q) = %s, want %s", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestClientAddrNoProxies(t *testing.T) {
	l, err := New(Config{Fallback: "home"})
	if err != nil {
		t.Fatal(err)
	}
	remote := netip.MustParseAddr("10.0.0.1")
	if got := l.ClientAddr(remote, "198.51.100.1"); got != remote {
		t.Errorf("ClientAddr without trusted proxies = %s, want %s", got, remote)
	}
	if got := l.ClientAddr(netip.Addr{}, "198.51.100.1"); got.IsValid() {
		t.Errorf("ClientAddr(zero) = %s, want zero", got)
	}
}
