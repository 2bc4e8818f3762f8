package locate

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeDB builds a MaxMind database of the given networks in t.TempDir and
// returns its path.
func writeDB(t testing.TB, records map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "dstor-test",
		IncludeReservedNetworks: true, // the documentation ranges are reserved
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range records {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(network, rec); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), "test.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// geoRec is a GeoIP2-style record; empty arguments are left out.
func geoRec(country, continent string) mmdbtype.Map {
	m := mmdbtype.Map{}
	if country != "" {
		m["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(country)}
	}
	if continent != "" {
		m["continent"] = mmdbtype.Map{"code": mmdbtype.String(continent)}
	}
	return m
}

func testDB(t testing.TB) string {
	withRegion := geoRec("DE", "EU")
	withRegion["dstor_region"] = mmdbtype.String("lab-1")
	return writeDB(t, map[string]mmdbtype.Map{
		"198.51.100.0/24":  withRegion,
		"192.0.2.0/24":     geoRec("DE", "EU"),
		"203.0.113.0/24":   geoRec("FR", "EU"),
		"100.64.0.0/16":    geoRec("BR", "SA"),
		"100.65.0.0/16":    geoRec("NA", "AF"), // Namibia
		"100.66.0.0/16":    {"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")}},
		"2001:db8:1::/48":  geoRec("JP", "AS"),
		"2001:db8:2::/48":  geoRec("AS", "OC"), // American Samoa
		"2001:db8:3::/48":  {"dstor_region": mmdbtype.String("lab-6")},
		"2001:db8:4::/48":  {"dstor_region": mmdbtype.Uint32(7)}, // wrong type
		"2001:db8:99::/48": geoRec("", ""),
	})
}

func TestGeoIP(t *testing.T) {
	db := testDB(t)
	geoMap, err := ParseGeoMap("DE=eu-central, EU=eu-west, AS=ap-east, NA=us-east, country:na=af-south")
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Config{
		Rules:    mustRules(t, "192.0.2.128/25=rule-region"),
		GeoIP:    db,
		GeoMap:   geoMap,
		Fallback: "home",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	tests := []struct {
		name, ip, want, source string
	}{
		{"dstor_region beats country", "198.51.100.7", "lab-1", SourceGeoIP},
		{"dstor_region only, ipv6", "2001:db8:3::1", "lab-6", SourceGeoIP},
		{"country", "192.0.2.7", "eu-central", SourceGeoIP},
		{"mapped address", "::ffff:192.0.2.7", "eu-central", SourceGeoIP},
		{"rule beats geoip", "192.0.2.200", "rule-region", SourceRule},
		{"continent when country unmapped", "203.0.113.7", "eu-west", SourceGeoIP},
		{"bare AS is the continent, ipv6", "2001:db8:1::1", "ap-east", SourceGeoIP},
		{"American Samoa is not Asia", "2001:db8:2::1", "home", SourceFallback},
		{"country:NA is Namibia", "100.65.1.1", "af-south", SourceGeoIP},
		{"registered country", "100.66.1.1", "eu-central", SourceGeoIP},
		{"neither mapped", "100.64.1.1", "home", SourceFallback},
		{"empty record", "2001:db8:99::1", "home", SourceFallback},
		{"undecodable record", "2001:db8:4::1", "home", SourceFallback},
		{"not in database", "8.8.8.8", "home", SourceFallback},
		{"not in database, ipv6", "2001:db9::1", "home", SourceFallback},
	}
	for _, pass := range []string{"decoded", "cached"} {
		for _, tt := range tests {
			t.Run(pass+"/"+tt.name, func(t *testing.T) {
				region, source := l.Lookup(netip.MustParseAddr(tt.ip))
				if region != tt.want || source != tt.source {
					t.Errorf("Lookup(%s) = %s, %s; want %s, %s", tt.ip, region, source, tt.want, tt.source)
				}
			})
		}
	}
}

func TestParseGeoMap(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr bool
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "two", in: "DE=eu-central,EU=eu-west", want: map[string]string{"DE": "eu-central", "EU": "eu-west"}},
		{name: "spaces and trailing comma", in: " DE = eu-central , ", want: map[string]string{"DE": "eu-central"}},
		{name: "qualified", in: "country:NA=af-south,continent:NA=us-east", want: map[string]string{"country:NA": "af-south", "continent:NA": "us-east"}},
		{name: "no equals", in: "DE", wantErr: true},
		{name: "empty region", in: "DE=", wantErr: true},
		{name: "not a code", in: "Germany=eu-central", wantErr: true},
		{name: "not a continent", in: "continent:DE=x", wantErr: true},
		{name: "unknown qualifier", in: "city:DE=x", wantErr: true},
		{name: "conflict", in: "DE=a,DE=b", wantErr: true},
		{name: "conflict across case", in: "DE=a,de=b", wantErr: true},
		{name: "bare continent equals qualified", in: "EU=a,continent:EU=b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGeoMap(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseGeoMap(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseGeoMap(%q) = %v, want %v", tt.in, got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("ParseGeoMap(%q)[%s] = %q, want %q", tt.in, k, got[k], v)
				}
			}
		})
	}
}
