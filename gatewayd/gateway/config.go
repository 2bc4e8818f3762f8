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
	"path/filepath"
	"time"

	"dstor/gatewayd/gateway/locate"
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
	// Registry is the SQLite registry file (default Dir/registry.db).
	Registry string
	// Writes is W, the number of nodes (in distinct regions where the
	// network allows) an upload is written to before it is acknowledged
	// (default 3).
	Writes int
	// Replicas is R, the copies a blob should have (default 16, at most
	// 20, never more than the usable nodes): W written by the upload, the
	// rest pulled by nodes from a holder after it is acknowledged.
	Replicas int
	// PullConcurrency bounds the pull orders in flight at once, over all
	// blobs (default 32); each blob has at most 4 at a time.
	PullConcurrency int
	// ProbeInterval is how often every node is probed (default 2 s). A
	// probe that misses (within half the interval) makes the node suspect,
	// no longer chosen; two misses in a row make it down.
	ProbeInterval time.Duration
	// Locate places clients in regions: CIDR rules (the longest prefix
	// wins), an optional MaxMind database, trusted proxies for
	// X-Forwarded-For. Its Fallback defaults to Region.
	Locate locate.Config
	// MaxBlobSize bounds one upload (default 64 GiB).
	MaxBlobSize int64
	// APIKeyFile and EnrollTokenFile, when set, name files holding an API
	// key (of a "dev" account) and a node enrollment token. Missing files
	// are created with fresh secrets; both are registered at start.
	APIKeyFile      string
	EnrollTokenFile string
	// Prices turn the ledger into money (defaults like Storj's public
	// rates).
	Prices Prices
	// Logger is optional.
	Logger *slog.Logger
	// now is the clock; tests may replace it.
	now func() time.Time
}

// Prices are in US dollars.
type Prices struct {
	OperatorStorage float64 // paid per TB-month of audited storage (default 1.50)
	OperatorEgress  float64 // paid per TB served (default 2.00)
	AccountStorage  float64 // charged per TB-month stored (default 4.00)
	AccountEgress   float64 // charged per TB read (default 7.00)
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
	if c.Writes == 0 {
		c.Writes = 3
	}
	if c.Replicas == 0 {
		c.Replicas = max(16, c.Writes)
	}
	if c.Writes < 1 || c.Writes > 20 {
		errs = append(errs, fmt.Errorf("gateway: Writes must be 1..20, got %d", c.Writes))
	}
	if c.Replicas < c.Writes || c.Replicas > 20 {
		errs = append(errs, fmt.Errorf("gateway: Replicas must be Writes..20, got %d", c.Replicas))
	}
	if c.PullConcurrency == 0 {
		c.PullConcurrency = 32
	}
	if c.ProbeInterval == 0 {
		c.ProbeInterval = 2 * time.Second
	}
	if c.Locate.Fallback == "" {
		c.Locate.Fallback = c.Region
	}
	if c.MaxBlobSize == 0 {
		c.MaxBlobSize = 64 << 30
	}
	for _, p := range []struct {
		v   *float64
		def float64
	}{{&c.Prices.OperatorStorage, 1.50}, {&c.Prices.OperatorEgress, 2.00}, {&c.Prices.AccountStorage, 4.00}, {&c.Prices.AccountEgress, 7.00}} {
		if *p.v == 0 {
			*p.v = p.def
		}
		if *p.v < 0 {
			errs = append(errs, fmt.Errorf("gateway: prices must not be negative, got %v", *p.v))
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return errors.Join(errs...)
}
