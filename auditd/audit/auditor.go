package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"dstor/shared/api"
	"dstor/shared/challenge"
	"dstor/shared/choose"
	"dstor/shared/enroll"
	"dstor/shared/identity"
	"dstor/shared/registry"
	"dstor/shared/wire"
)

// Auditor is a running auditd.
type Auditor struct {
	cfg  Config
	log  *slog.Logger
	key  ed25519.PrivateKey
	id   string
	pool *x509.CertPool
	reg  registry.Registry

	client *wire.Client
	// Audits challenges holders; Repairs brings pins back to R. Tests
	// pause them and trigger single cycles.
	Audits  *Chore
	Repairs *Chore
	// Surveys ping every node: the repair view, egress, offline nodes.
	Surveys *Chore

	view    atomic.Pointer[choose.View] // the latest survey's placement view
	repairs *rate.Limiter               // bytes repairs may copy (nil: no limit)
	mu      sync.Mutex
	offline map[string]time.Time // unreachable nodes, since when

	ready chan struct{}
	bg    sync.WaitGroup
}

// New validates cfg, loads (or creates) the auditor's key and opens the
// registry. It does not contact anything.
func New(cfg Config) (*Auditor, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	key, err := identity.LoadOrCreateKey(filepath.Join(cfg.Dir, "auditor.key"))
	if err != nil {
		return nil, err
	}
	pool, err := identity.LoadPool(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	reg, err := registry.Open(context.Background(), cfg.Registry)
	if err != nil {
		return nil, err
	}
	a := &Auditor{
		cfg: cfg, log: cfg.Logger, key: key, pool: pool, reg: reg,
		id:      identity.ID(key.Public().(ed25519.PublicKey)),
		ready:   make(chan struct{}),
		offline: make(map[string]time.Time),
	}
	if cfg.RepairRate > 0 {
		a.repairs = rate.NewLimiter(rate.Limit(cfg.RepairRate), int(max(cfg.RepairRate, 1<<20)))
	}
	a.Audits = NewChore(time.Second, a.auditCycle)
	a.Repairs = NewChore(cfg.RepairInterval, a.repairCycle)
	a.Surveys = NewChore(cfg.RepairInterval, a.survey)
	return a, nil
}

// ID is the auditor's identity.
func (a *Auditor) ID() string { return a.id }

// Ready is closed once the auditor has enrolled and its loops run.
func (a *Auditor) Ready() <-chan struct{} { return a.ready }

// Run enrolls with the gateway, then audits and repairs until ctx ends.
func (a *Auditor) Run(ctx context.Context) error {
	defer a.reg.Close()
	cert, err := a.enroll(ctx)
	if err != nil {
		return err
	}
	a.client = wire.NewClient(cert, a.pool)
	if a.cfg.Verifier == "bao" {
		a.client.ChallengeVerifier = challenge.VerifyBao
	}
	defer a.client.Close()
	for _, c := range []*Chore{a.Audits, a.Repairs, a.Surveys} {
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			c.Run(ctx)
		}()
	}
	a.log.Info("auditor running", "id", a.id, "rate", a.cfg.Rate, "ranges", a.cfg.Ranges, "range_len", a.cfg.RangeLen)
	close(a.ready)
	<-ctx.Done()
	a.bg.Wait()
	return nil
}

// enroll asks the gateway for an auditor certificate, retrying while the
// gateway is not reachable.
func (a *Auditor) enroll(ctx context.Context) (tls.Certificate, error) {
	cert, err := enroll.Do(ctx, enroll.Request{
		URL:  a.cfg.Gateway + "/v1/auditors/enroll",
		Pool: a.pool,
		Key:  a.key,
		Body: api.EnrollAuditorRequest{Token: a.cfg.EnrollToken, PublicKey: a.key.Public().(ed25519.PublicKey)},
		Log:  a.log,
	})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("audit: %w", err)
	}
	return cert, nil
}
