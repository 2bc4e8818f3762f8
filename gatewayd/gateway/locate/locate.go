// Package locate places an HTTP client in a region: by the operator's CIDR
// rules first, then by an optional MaxMind database, then in the gateway's
// own region. The client address is the connection's peer, or, when that
// peer is a trusted proxy, the first untrusted hop of X-Forwarded-For.
package locate

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// How a client was placed, the second result of [Locator.Region] and
// [Locator.Locate]; short and fixed, so fit for a header or a metric label.
const (
	SourceRule     = "rule"
	SourceGeoIP    = "geoip"
	SourceFallback = "fallback"
)

// Config configures a Locator. Only Fallback is required.
type Config struct {
	// Rules map client networks to regions; the longest prefix wins.
	// IPv4-mapped IPv6 prefixes are taken as the IPv4 prefixes they map.
	Rules []Rule
	// GeoIP is the path of a MaxMind database (GeoIP2/GeoLite2 Country or
	// City, or one of our own); empty means none.
	GeoIP string
	// GeoMap maps MaxMind codes to regions, see [ParseGeoMap] for the keys.
	// A record's own "dstor_region" string needs no entry here.
	GeoMap map[string]string
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	// None means the header is ignored.
	TrustedProxies []netip.Prefix
	// Fallback is the region of clients nothing else places: the
	// gateway's own region. Required.
	Fallback string
}

// Locator places clients in regions. It is safe for concurrent use, except
// that Close must come after the last lookup.
type Locator struct {
	rules    prefixTable // value: index+1 into regions
	regions  []string
	proxies  prefixTable // value: 1
	geo      *geoIP      // nil without a database
	fallback string
}

// New validates cfg, builds the lookup tables and opens the GeoIP database.
func New(cfg Config) (*Locator, error) {
	var errs []error
	if cfg.Fallback == "" {
		errs = append(errs, errors.New("locate: Fallback region is required"))
	}
	l := &Locator{fallback: cfg.Fallback}
	for _, r := range cfg.Rules {
		p, err := normalizePrefix(r.Prefix)
		if err == nil && r.Region == "" {
			err = errors.New("empty region")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("locate: rule %v=%s: %w", r.Prefix, r.Region, err))
			continue
		}
		if prev := l.rules.get(p); prev != 0 {
			if l.regions[prev-1] != r.Region {
				errs = append(errs, fmt.Errorf("locate: rule %v: both %s and %s", p, l.regions[prev-1], r.Region))
			}
			continue
		}
		l.regions = append(l.regions, r.Region)
		l.rules.insert(p, int32(len(l.regions)))
	}
	for _, p := range cfg.TrustedProxies {
		p, err := normalizePrefix(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("locate: trusted proxy %v: %w", p, err))
			continue
		}
		l.proxies.insert(p, 1)
	}
	l.rules.freeze()
	l.proxies.freeze()
	geoMap, err := newGeoMap(cfg.GeoMap)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.GeoIP != "" {
		db, err := maxminddb.Open(cfg.GeoIP)
		if err != nil {
			return nil, fmt.Errorf("locate: GeoIP: %w", err)
		}
		l.geo = &geoIP{db: db, geoMap: geoMap}
	}
	return l, nil
}

// Close releases the GeoIP database.
func (l *Locator) Close() error {
	if l.geo == nil {
		return nil
	}
	return l.geo.db.Close()
}

// Region places the client of r, reading r.RemoteAddr and, from a trusted
// proxy, X-Forwarded-For. source is SourceRule, SourceGeoIP or
// SourceFallback.
func (l *Locator) Region(r *http.Request) (region, source string) {
	// The key is canonical: index the map rather than pay Values'
	// canonicalization on every read.
	return l.Locate(remoteAddr(r.RemoteAddr), r.Header["X-Forwarded-For"]...)
}

// Locate places the client that connected from remote with the given
// X-Forwarded-For header lines (in the order received); see [Locator.ClientAddr].
func (l *Locator) Locate(remote netip.Addr, xff ...string) (region, source string) {
	return l.Lookup(l.ClientAddr(remote, xff...))
}

// Lookup places the client address ip: the longest matching rule, else the
// GeoIP database, else the fallback.
func (l *Locator) Lookup(ip netip.Addr) (region, source string) {
	ip = ip.Unmap()
	if v := l.rules.lookup(ip); v != 0 {
		return l.regions[v-1], SourceRule
	}
	if l.geo != nil {
		if region := l.geo.lookup(ip); region != "" {
			return region, SourceGeoIP
		}
	}
	return l.fallback, SourceFallback
}

// remoteAddr parses http.Request.RemoteAddr, "ip:port" or a bare ip; it
// returns the zero Addr when neither parses.
func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr()
	}
	ip, _ := netip.ParseAddr(s)
	return ip
}
