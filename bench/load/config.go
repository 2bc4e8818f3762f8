// Package load is dStor's load suite: each measurement drives real servers
// on loopback over HTTP/3 (or QUIC) and records figures; checks compare
// them with their baselines and the targets of issue 3, and the report
// prints them as one table.
package load

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Config configures a run. Defaults returns the documented values; they
// keep the whole suite within a few minutes on a 2-core machine.
type Config struct {
	// Bin holds the gatewayd and noded binaries. Required by the dStor
	// measurements.
	Bin string
	// Run names the measurements to run, in suite order whatever the
	// order given (see Names); empty runs all.
	Run []string
	// Concurrency is the number of concurrent clients of the request-rate
	// runs and of the concurrent reads (default 64, the figure).
	Concurrency int
	// Conns is the number of QUIC connections the clients share, each its
	// own http3.Transport on its own UDP socket; client i uses connection
	// i mod Conns (default 4).
	Conns int
	// Duration is the measured time of each request-rate and write run
	// (default 3 s); Warmup the unmeasured load before it (default 1 s).
	Duration time.Duration
	Warmup   time.Duration
	// Rounds is how many times the repeated measurements (the baselines
	// and the cached reads) run, interleaved; figures are the medians
	// (default 3).
	Rounds int
	// Reads is how many sequential reads of the large blob each throughput
	// figure takes the median of (default 3).
	Reads int
	// ReadLimit stops each of the concurrent large reads (the peer-fetch
	// and resident-memory measurements) after this long, whole or not, to
	// keep the suite short; 0 reads every body whole (default 15 s).
	ReadLimit time.Duration
	// Q1Bytes is what the bare QUIC stream moves (default 1 GiB).
	Q1Bytes int64
	// BigSize and SmallSize are the blob sizes (default 256 MiB, 4 KiB).
	BigSize   int64
	SmallSize int
	// IngestSize is the blob the ingest measurement uploads (default
	// 1 GiB, issue 4's figure).
	IngestSize int64
	// BigCacheBytes is the cache budget of the node that serves the cached
	// large read (default 4 GiB: noded admits an item of at most 1/16 of
	// its budget).
	BigCacheBytes int64
	// CacheBytes is the cache budget of the cluster's nodes, among them
	// the one measured for cold reads and resident memory (default
	// 256 MiB, too small to admit BigSize).
	CacheBytes int64
	// ProbeInterval is the gateway's node probe interval (default 250 ms,
	// so added nodes are seen up quickly).
	ProbeInterval time.Duration
	// QuietWait is how long the suite waits, before each measured run,
	// for the machine to be nearly idle (under 0.25 busy cores over half a
	// second), so that other work on it skews the figures less; it then
	// measures anyway and the figure's note shows the other load (default
	// 10 s; 0: do not wait).
	QuietWait time.Duration
	// CPUProfile, when set, receives the bench process's CPU profile.
	CPUProfile string
	// Keep keeps the temporary directory: daemon logs, Caddyfile.
	Keep bool
	// Progress receives one line per step (default: discarded).
	Progress io.Writer
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{
		Concurrency:   64,
		Conns:         4,
		Rounds:        3,
		Duration:      3 * time.Second,
		Warmup:        time.Second,
		Reads:         3,
		ReadLimit:     15 * time.Second,
		Q1Bytes:       1 << 30,
		BigSize:       256 << 20,
		SmallSize:     4 << 10,
		IngestSize:    1 << 30,
		BigCacheBytes: 4 << 30,
		CacheBytes:    256 << 20,
		ProbeInterval: 250 * time.Millisecond,
		QuietWait:     10 * time.Second,
	}
}

func (c *Config) validate() error {
	var errs []error
	for _, name := range c.Run {
		if !slices.Contains(Names(), name) {
			errs = append(errs, fmt.Errorf("unknown measurement %q (have %v)", name, Names()))
		}
	}
	if c.Concurrency < 1 || c.Conns < 1 || c.Reads < 1 || c.Rounds < 1 {
		errs = append(errs, errors.New("concurrency, conns, reads and rounds must be at least 1"))
	}
	if c.Duration <= 0 || c.Warmup < 0 {
		errs = append(errs, errors.New("duration must be positive, warmup not negative"))
	}
	if c.Q1Bytes <= 0 || c.BigSize <= 0 || c.SmallSize <= 0 || c.IngestSize <= 0 {
		errs = append(errs, errors.New("sizes must be positive"))
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return errors.Join(errs...)
}

// selected reports whether the measurement name is to run.
func (c *Config) selected(name string) bool {
	return len(c.Run) == 0 || slices.Contains(c.Run, name)
}
