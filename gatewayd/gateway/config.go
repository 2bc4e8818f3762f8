// Package gateway is dStor's front door: it authenticates uploads, hashes
// them into CIDs while streaming them to W nodes over dstor/1, records pins
// in the registry, watches the nodes with probes, and sends every read to a
// live node in the reader's region.
package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"time"
)

// Config configures a gateway. Zero values take the documented defaults.
type Config struct {
	// Dir holds the CA, the gateway key and, by default, the registry.
	Dir string
	// Listen is the host:port for both UDP (HTTP/3, dstor/1) and TCP
	// (HTTPS) (default 127.0.0.1:8443).
	Listen string
	// Hosts are extra names and addresses for the gateway's certificate
	// besides the listen host, "localhost" and the loopback addresses.
	Hosts []string
	// Region is the gateway's own region, the fallback for clients that no
	// rule places. Required.
	Region string
	// Regions maps client networks to regions; the longest prefix wins.
	Regions []RegionRule
	// Registry is the SQLite registry file (default Dir/registry.db).
	Registry string
	// Replicas is W, the number of nodes an upload is written to before it
	// is acknowledged (default 3).
	Replicas int
	// ProbeInterval is how often every node is pinged (default 1 s); a node
	// that misses two probes in a row is down.
	ProbeInterval time.Duration
	// MaxBlobSize bounds one upload (default 64 GiB).
	MaxBlobSize int64
	// APIKeyFile and EnrollTokenFile, when set, name files holding an API
	// key (of a "dev" account) and a node enrollment token. Missing files
	// are created with fresh secrets; both are registered at start.
	APIKeyFile      string
	EnrollTokenFile string
	// Logger is optional.
	Logger *slog.Logger
	// now is the clock; tests may replace it.
	now func() time.Time
}

// RegionRule places clients of Prefix in Region.
type RegionRule struct {
	Prefix netip.Prefix
	Region string
}

// ParseRegionRule reads "CIDR=region".
func ParseRegionRule(s string) (RegionRule, error) {
	cidr, region, ok := cutLast(s, "=")
	if !ok || region == "" {
		return RegionRule{}, fmt.Errorf("region rule %q: want CIDR=region", s)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return RegionRule{}, fmt.Errorf("region rule %q: %w", s, err)
	}
	if p.Addr().Is4In6() {
		// Client addresses are unmapped before matching; do the same here.
		if p.Bits() < 96 {
			return RegionRule{}, fmt.Errorf("region rule %q: IPv4-mapped prefix shorter than /96", s)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return RegionRule{Prefix: p.Masked(), Region: region}, nil
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

func (c *Config) validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("gateway: Dir is required"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("gateway: Region is required"))
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8443"
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("gateway: Listen: %w", err))
	}
	if c.Registry == "" {
		c.Registry = filepath.Join(c.Dir, "registry.db")
	}
	if c.Replicas == 0 {
		c.Replicas = 3
	}
	if c.Replicas < 1 || c.Replicas > 20 {
		errs = append(errs, fmt.Errorf("gateway: Replicas must be 1..20, got %d", c.Replicas))
	}
	if c.ProbeInterval == 0 {
		c.ProbeInterval = time.Second
	}
	if c.MaxBlobSize == 0 {
		c.MaxBlobSize = 64 << 30
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return errors.Join(errs...)
}
