package locate

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/oschwald/maxminddb-golang/v2"
)

// isContinent reports whether code is one of MaxMind's continent codes.
// Five of them are also country codes (AF Afghanistan, AN Netherlands
// Antilles, AS American Samoa, NA Namibia, SA Saudi Arabia).
func isContinent(code string) bool {
	switch code {
	case "AF", "AN", "AS", "EU", "NA", "OC", "SA":
		return true
	}
	return false
}

// geoMap is a Config.GeoMap split by kind of code.
type geoMap struct {
	countries  map[string]string
	continents map[string]string
}

// ParseGeoMap reads a comma-separated list of code=region, e.g.
// "DE=eu-central,EU=eu-west,country:NA=af-south". A bare code is a
// continent when it is one of MaxMind's seven continent codes (AF AN AS EU
// NA OC SA) and a country otherwise; "country:" or "continent:" says which
// explicitly, e.g. "country:NA" for Namibia rather than North America.
// Codes are case-insensitive. A client's country wins over its continent.
func ParseGeoMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		code, region, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("geo map entry %q: want code=region", item)
		}
		code, region = strings.TrimSpace(code), strings.TrimSpace(region)
		if prev, dup := m[code]; dup && prev != region {
			return nil, fmt.Errorf("geo map: %s is both %s and %s", code, prev, region)
		}
		m[code] = region
	}
	if _, err := newGeoMap(m); err != nil {
		return nil, err
	}
	return m, nil
}

func newGeoMap(m map[string]string) (geoMap, error) {
	g := geoMap{countries: map[string]string{}, continents: map[string]string{}}
	var errs []error
	for key, region := range m {
		kind, code, qualified := strings.Cut(strings.ToUpper(key), ":")
		if !qualified {
			kind, code = "COUNTRY", kind
			if isContinent(code) {
				kind = "CONTINENT"
			}
		}
		var into map[string]string
		switch {
		case !isCode(code):
			errs = append(errs, fmt.Errorf("locate: geo map key %q: want a two-letter code", key))
			continue
		case region == "":
			errs = append(errs, fmt.Errorf("locate: geo map key %q: empty region", key))
			continue
		case kind == "COUNTRY":
			into = g.countries
		case kind == "CONTINENT" && isContinent(code):
			into = g.continents
		case kind == "CONTINENT":
			errs = append(errs, fmt.Errorf("locate: geo map key %q: not a continent code", key))
			continue
		default:
			errs = append(errs, fmt.Errorf("locate: geo map key %q: want country: or continent:", key))
			continue
		}
		if prev, dup := into[code]; dup && prev != region {
			errs = append(errs, fmt.Errorf("locate: geo map: %s is both %s and %s", key, prev, region))
			continue
		}
		into[code] = region
	}
	return g, errors.Join(errs...)
}

func isCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// geoIP places addresses with a MaxMind database.
type geoIP struct {
	db     *maxminddb.Reader
	geoMap geoMap
	// cache maps a record's offset to its region, so each record is
	// decoded once; it stops growing at maxCached records (a City database
	// has millions).
	cache  sync.Map
	cached atomic.Int64
}

const maxCached = 1 << 16

// geoRecord is the part of a MaxMind record we read. Region is our own
// field; the rest is the GeoIP2 Country/City layout.
type geoRecord struct {
	Region  string `maxminddb:"dstor_region"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
}

// lookup returns the region of ip, "" when the database does not place it.
// A record's dstor_region wins; then its country (or, for anonymizers and
// the like that have none, the registered country); then its continent.
// An undecodable record places no one.
func (g *geoIP) lookup(ip netip.Addr) string {
	res := g.db.Lookup(ip)
	if !res.Found() {
		return ""
	}
	off := res.Offset()
	if region, ok := g.cache.Load(off); ok {
		return region.(string)
	}
	region := g.decode(res)
	if g.cached.Load() < maxCached {
		if _, loaded := g.cache.LoadOrStore(off, region); !loaded {
			g.cached.Add(1)
		}
	}
	return region
}

// decode reads the region of a record found in the database.
func (g *geoIP) decode(res maxminddb.Result) string {
	var rec geoRecord
	if err := res.Decode(&rec); err != nil {
		return ""
	}
	if rec.Region != "" {
		return rec.Region
	}
	country := rec.Country.ISOCode
	if country == "" {
		country = rec.RegisteredCountry.ISOCode
	}
	if region, ok := g.geoMap.countries[country]; ok {
		return region
	}
	return g.geoMap.continents[rec.Continent.Code]
}
