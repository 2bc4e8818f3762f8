// Package audit is auditd: it proves, with random byte-range challenges
// answered by Bao slices, that nodes still hold the blobs they are paid
// for; it keeps each node's reputation, repairs pins that lost healthy
// replicas, and accrues node earnings in the registry's ledger.
package audit

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures an auditor. Zero values take the documented defaults.
type Config struct {
	// Dir holds the auditor's key.
	Dir string
	// Registry is the registry the gateways use: a SQLite file or a
	// postgres:// URL. Required.
	Registry string
	// Gateway is a gateway's base URL, where the auditor enrolls.
	// Required.
	Gateway string
	// CAFile is the PEM of the network's CA. Required.
	CAFile string
	// EnrollToken admits the auditor. Required.
	EnrollToken string

	// Rate is the challenges per second (default 20); Parallel bounds the
	// challenges in flight (default 64).
	Rate     float64
	Parallel int
	// Ranges is the byte ranges per challenge (4..8, default 8), each
	// RangeLen bytes (default 1 KiB).
	Ranges   int
	RangeLen int
	// Verifier checks answers: "batched" (the default, challenge.Verify:
	// tree nodes of all the slices hashed eight at a time) or "bao"
	// (challenge.VerifyBao: lukechampine.com/blake3/bao's VerifySlice per
	// slice, the reference, at about twice the CPU). Both accept exactly
	// the same answers.
	Verifier string
	// The soft deadline of a challenge is SlackFactor (default 1.5) times
	// the node's RTT p95 (smoothed RTT + 2 deviations) plus DiskBudget
	// (default 2 ms) per range: an answer later than that raises relay
	// suspicion. Pass or fail waits for the hard limit: the larger of
	// HardLimit (default 2 s) and 4 soft deadlines.
	SlackFactor float64
	DiskBudget  time.Duration
	HardLimit   time.Duration

	// RepairThreshold is the fraction of a pin's R under which it is
	// repaired back to R (default 0.75: fewer than 12 healthy of 16).
	RepairThreshold float64
	// RepairInterval is how often under-replicated pins are looked for
	// (default 10 s); RepairParallel bounds the pulls in flight (default 4)
	// and RepairRate the bytes per second they copy (default 64 MiB/s;
	// negative: no limit), so repairs leave the nodes room for readers.
	RepairInterval time.Duration
	RepairParallel int
	RepairRate     int64
	// OfflineGrace is how long a node may be unreachable before its copies
	// count as lost and are repaired (default 10 min). Being offline never
	// costs reputation.
	OfflineGrace time.Duration
	// UnpinGrace is how long a blob no account pins keeps its copies
	// before they are deleted (default 1 h): an upload of the same bytes
	// meanwhile pins it again at no cost.
	UnpinGrace time.Duration

	// Model is the reputation model.
	Model Model

	// Logger is optional.
	Logger *slog.Logger
	now    func() time.Time
}

func (c *Config) validate() error {
	var errs []error
	for name, v := range map[string]string{"Dir": c.Dir, "Registry": c.Registry, "Gateway": c.Gateway, "CAFile": c.CAFile, "EnrollToken": c.EnrollToken} {
		if v == "" {
			errs = append(errs, fmt.Errorf("audit: %s is required", name))
		}
	}
	if c.Rate == 0 {
		c.Rate = 20
	}
	if c.Parallel == 0 {
		c.Parallel = 64
	}
	if c.Ranges == 0 {
		c.Ranges = 8
	}
	if c.RangeLen == 0 {
		c.RangeLen = 1 << 10
	}
	switch c.Verifier {
	case "":
		c.Verifier = "batched"
	case "batched", "bao":
	default:
		return fmt.Errorf("audit: verifier %q: want batched or bao", c.Verifier)
	}
	if c.SlackFactor == 0 {
		c.SlackFactor = 1.5
	}
	if c.DiskBudget == 0 {
		c.DiskBudget = 2 * time.Millisecond
	}
	if c.HardLimit == 0 {
		c.HardLimit = 2 * time.Second
	}
	if c.RepairThreshold == 0 {
		c.RepairThreshold = 0.75
	}
	if c.RepairInterval == 0 {
		c.RepairInterval = 10 * time.Second
	}
	if c.OfflineGrace == 0 {
		c.OfflineGrace = 10 * time.Minute
	}
	if c.UnpinGrace == 0 {
		c.UnpinGrace = time.Hour
	}
	if c.RepairParallel == 0 {
		c.RepairParallel = 4
	}
	if c.RepairRate == 0 {
		c.RepairRate = 64 << 20
	}
	switch {
	case c.Rate < 0:
		errs = append(errs, fmt.Errorf("audit: Rate must be positive, got %v", c.Rate))
	case c.Ranges < 4 || c.Ranges > 8:
		errs = append(errs, fmt.Errorf("audit: Ranges must be 4..8, got %d", c.Ranges))
	case c.RangeLen < 1 || c.RangeLen > 16<<10:
		errs = append(errs, fmt.Errorf("audit: RangeLen must be 1..16384, got %d", c.RangeLen))
	case c.RepairThreshold <= 0 || c.RepairThreshold > 1:
		errs = append(errs, fmt.Errorf("audit: RepairThreshold must be in (0, 1], got %v", c.RepairThreshold))
	case c.RepairParallel < 0:
		errs = append(errs, fmt.Errorf("audit: RepairParallel must be positive, got %d", c.RepairParallel))
	}
	c.Model.defaults()
	if err := c.Model.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return errors.Join(errs...)
}
