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
)

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
	// CacheBytes bounds the hot cache (default 256 MiB; negative disables).
	CacheBytes int64
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
		c.CacheBytes = 256 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}
