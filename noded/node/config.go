// Package node is a dStor storage node: a blob store on disk behind a hot
// cache, serving reads over HTTP/3 and HTTPS and the dstor/1 protocol on
// one port, and fetching blobs it lacks from peers with verification.
package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"golang.org/x/sys/unix"

	"dstor/noded/store"
)

// defaultCacheBytes is 1/8 of the machine's RAM, at most 4 GiB.
func defaultCacheBytes() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 256 << 20
	}
	return min(int64(si.Totalram)*int64(si.Unit)/8, 4<<30)
}

// reserveFor is the default reserve for a filesystem of capacity bytes.
func reserveFor(capacity int64) int64 { return max(capacity/20, 2<<30) }

// Config configures a node. Zero values take the documented defaults.
type Config struct {
	// Dir holds the blobs, the node's key and its certificate.
	Dir string
	// Listen is the host:port for UDP and TCP (default 127.0.0.1:0).
	Listen string
	// Advertise is the host that clients and peers should dial (default:
	// the listen host). The URL is https://Advertise:port.
	Advertise string
	// Region is the node's region name, such as "eu-west". Required.
	Region string
	// Gateway is the gateway's base URL (https://host:port) used to enroll
	// and to ask where blobs are. Required.
	Gateway string
	// CAFile is the PEM of the network's CA. Required.
	CAFile string
	// EnrollToken admits the node to the network. Required.
	EnrollToken string
	// CacheBytes bounds the hot cache (default 1/8 of RAM, at most 4 GiB;
	// negative disables it).
	CacheBytes int64
	// Reserve is the free space under which the node accepts no new blobs
	// (default max(5 % of the filesystem, 2 GiB); negative: none).
	Reserve int64
	// ScrubInterval is how long one pass of the background scrub over the
	// whole store should take (default 30 days; negative disables the
	// background scrub, Scrub still works).
	ScrubInterval time.Duration
	// ScrubRate caps the scrub's reading in bytes/s (default 32 MiB/s).
	ScrubRate int64
	// Operator names who runs the node; the gateway spreads replicas over
	// operators (optional).
	Operator string
	// Draining stops new pins to the node while it keeps serving reads,
	// before the operator retires it.
	Draining bool
	// Store overrides the disk store under Dir (tests use a memory store).
	Store store.Store
	// Logger is optional.
	Logger *slog.Logger
}

func (c *Config) validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("node: Dir is required"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("node: Region is required"))
	}
	if c.CAFile == "" {
		errs = append(errs, errors.New("node: CAFile is required"))
	}
	if c.EnrollToken == "" {
		errs = append(errs, errors.New("node: EnrollToken is required"))
	}
	if u, err := url.Parse(c.Gateway); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("node: Gateway must be an https:// URL, got %q", c.Gateway))
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("node: Listen: %w", err))
	}
	if c.Advertise == "" {
		c.Advertise = host
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = defaultCacheBytes()
	}
	if c.ScrubInterval == 0 {
		c.ScrubInterval = 30 * 24 * time.Hour
	}
	if c.ScrubRate == 0 {
		c.ScrubRate = 32 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}
