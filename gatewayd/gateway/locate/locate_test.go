package locate

import (
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
)

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no fallback", Config{}},
		{"invalid rule prefix", Config{Fallback: "x", Rules: []Rule{{Region: "a"}}}},
		{"empty rule region", Config{Fallback: "x", Rules: []Rule{{Prefix: netip.MustParsePrefix("10.0.0.0/8")}}}},
		{"conflicting rules", Config{Fallback: "x", Rules: []Rule{
			{netip.MustParsePrefix("10.0.0.0/8"), "a"},
			{netip.MustParsePrefix("10.1.2.3/8"), "b"},
		}}},
		{"conflicting mapped rule", Config{Fallback: "x", Rules: []Rule{
			{netip.MustParsePrefix("10.0.0.0/8"), "a"},
			{netip.MustParsePrefix("::ffff:10.0.0.0/104"), "b"},
		}}},
		{"invalid proxy", Config{Fallback: "x", TrustedProxies: []netip.Prefix{{}}}},
		{"bad geo map", Config{Fallback: "x", GeoMap: map[string]string{"Germany": "x"}}},
		{"missing database", Config{Fallback: "x", GeoIP: filepath.Join(t.TempDir(), "none.mmdb")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if l, err := New(tt.cfg); err == nil {
				l.Close()
				t.Fatal("New succeeded, want error")
			}
		})
	}
}

func TestNewAcceptsRepeatedRule(t *testing.T) {
	l, err := New(Config{Fallback: "x", Rules: []Rule{
		{netip.MustParsePrefix("10.0.0.0/8"), "a"},
		{netip.MustParsePrefix("::ffff:10.0.0.0/104"), "a"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if region, _ := l.Lookup(netip.MustParseAddr("10.1.1.1")); region != "a" {
		t.Errorf("region = %s, want a", region)
	}
}

func TestRegion(t *testing.T) {
	l, err := New(Config{
		Rules:          mustRules(t, "198.51.100.0/24=eu-west", "2001:db8::/32=us-east", "10.0.0.0/8=proxy-net"),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		GeoIP:          testDB(t),
		GeoMap:         map[string]string{"DE": "eu-central"},
		Fallback:       "home",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	tests := []struct {
		name         string
		remote       string
		xff          []string
		want, source string
	}{
		{"direct ipv4", "198.51.100.1:5000", nil, "eu-west", SourceRule},
		{"direct ipv6", "[2001:db8::1]:5000", nil, "us-east", SourceRule},
		{"direct mapped", "[::ffff:198.51.100.1]:5000", nil, "eu-west", SourceRule},
		{"no port", "198.51.100.1", nil, "eu-west", SourceRule},
		{"unparsable remote", "@", []string{"198.51.100.1"}, "home", SourceFallback},
		{"spoofed from untrusted", "203.0.113.1:5000", []string{"198.51.100.1"}, "home", SourceFallback},
		{"via trusted proxy", "10.0.0.1:5000", []string{"198.51.100.1"}, "eu-west", SourceRule},
		{"via trusted proxy to geoip", "10.0.0.1:5000", []string{"192.0.2.1"}, "eu-central", SourceGeoIP},
		{"via two header lines", "10.0.0.1:5000", []string{"1.1.1.1, 2001:db8::5", "10.2.3.4"}, "us-east", SourceRule},
		{"trusted proxy, no header", "10.0.0.1:5000", nil, "proxy-net", SourceRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ipfs/x", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			region, source := l.Region(r)
			if region != tt.want || source != tt.source {
				t.Errorf("Region = %s, %s; want %s, %s", region, source, tt.want, tt.source)
			}
		})
	}
}
