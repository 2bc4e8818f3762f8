package testnet

import (
	"path/filepath"
	"testing"

	"dstor/auditd/audit"
)

// StartAuditor runs an auditd on the network's registry, enrolled at its
// gateway, with its loops paused: tests run cycles with TriggerWait on
// Audits, Repairs and Surveys. adjust, if not nil, changes
// its config first.
func (n *Net) StartAuditor(t testing.TB, name string, adjust func(*audit.Config)) *audit.Auditor {
	t.Helper()
	cfg := audit.Config{
		Dir:         filepath.Join(n.root, name),
		Registry:    n.Options.Registry,
		Gateway:     n.GatewayURL,
		CAFile:      n.CAFile,
		EnrollToken: readSecret(t, filepath.Join(n.GatewayDir, "enroll-token")),
		Logger:      n.logs.logger(name),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	a, err := audit.New(cfg)
	if err != nil {
		t.Fatalf("audit.New: %v", err)
	}
	a.Audits.Pause()
	a.Repairs.Pause()
	a.Surveys.Pause()
	d := run(t, name, a.Run)
	t.Cleanup(d.stop)
	d.waitReady(a.Ready())
	return a
}
