package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"dstor/shared/api"
	"dstor/shared/registry"
)

// Units of the prices (Config.Prices): a terabyte, and hours in a month.
const (
	tb          = 1e12
	hoursPerMon = 730.0
)

// handleAudits is GET /v1/nodes/{id}/audits: a node's reputation and its
// audit history, newest first (?before=ID&limit=N to page). Operators see
// every outcome with its reason: nothing happens to a node silently.
func (g *Gateway) handleAudits(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	before, err1 := intParam(q.Get("before"), 0)
	limit, err2 := intParam(q.Get("limit"), 100)
	if err := errors.Join(err1, err2); err != nil || limit < 1 || limit > 1000 {
		writeError(w, http.StatusBadRequest, "before and limit (1..1000) must be integers")
		return
	}
	rep, err := g.reg.Reputation(r.Context(), id)
	if g.registryError(w, err, "node "+id) {
		return
	}
	audits, err := g.reg.Audits(r.Context(), id, before, int(limit))
	if g.registryError(w, err, "node "+id) {
		return
	}
	out := api.AuditsResponse{Node: id, Reputation: api.Reputation{
		Status: rep.Status, StatusReason: rep.StatusReason, Score: rep.Score(), UnknownScore: rep.UnknownScore(),
		Audits: rep.Audits, Passes: rep.Passes, Fails: rep.Fails, Timeouts: rep.Timeouts,
		Offline: rep.Offline, Unknown: rep.Unknown, RelaySuspects: rep.Suspects, Contained: rep.Contained,
	}, Audits: []api.Audit{}}
	if !rep.StatusAt.IsZero() {
		out.Reputation.StatusAt = rep.StatusAt.Format(time.RFC3339Nano)
	}
	for _, a := range audits {
		out.Audits = append(out.Audits, api.Audit{
			ID: a.ID, CID: a.CID, Auditor: a.Auditor, At: a.At.Format(time.RFC3339Nano), Outcome: a.Outcome,
			Reason: a.Reason, LatencyMS: ms(a.Latency), DeadlineMS: ms(a.Deadline), RelaySuspect: a.Suspect,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// handleEarnings is GET /v1/nodes/{id}/earnings?from=RFC3339&to=RFC3339
// (default: this month so far): byte-hours of pins whose latest audit
// passed and bytes served, at the configured prices.
func (g *Gateway) handleEarnings(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	now := g.cfg.now().UTC()
	from, err1 := timeParam(r.URL.Query().Get("from"), time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC))
	to, err2 := timeParam(r.URL.Query().Get("to"), now)
	if err := errors.Join(err1, err2); err != nil || !from.Before(to) {
		writeError(w, http.StatusBadRequest, "from and to must be RFC 3339 times, from before to")
		return
	}
	if _, err := g.reg.Reputation(r.Context(), id); g.registryError(w, err, "node "+id) {
		return
	}
	e, err := g.reg.Earnings(r.Context(), id, from, to)
	if g.registryError(w, err, "node "+id) {
		return
	}
	storage := e.ByteHours / tb / hoursPerMon * g.cfg.Prices.OperatorStorage
	egress := float64(e.EgressBytes) / tb * g.cfg.Prices.OperatorEgress
	writeJSON(w, http.StatusOK, api.EarningsResponse{
		Node: id, From: from.Format(time.RFC3339Nano), To: to.Format(time.RFC3339Nano),
		ByteHours: e.ByteHours, EgressBytes: e.EgressBytes,
		StorageUSD: storage, EgressUSD: egress, TotalUSD: storage + egress,
		StoragePricePerTBMonth: g.cfg.Prices.OperatorStorage, EgressPricePerTB: g.cfg.Prices.OperatorEgress,
	})
}

// handleUsage is GET /v1/account/usage: what the account stores and what
// that costs a month at the configured prices, and from the ledger that
// pays the nodes, the replica byte-hours they were credited for its blobs
// and the bytes they served of them (what the egress price applies to).
func (g *Gateway) handleUsage(w http.ResponseWriter, r *http.Request) {
	acct, ok := g.authorize(w, r)
	if !ok {
		return
	}
	u, err := g.reg.Usage(r.Context(), acct)
	if g.registryError(w, err, "account") {
		return
	}
	storage := float64(u.StoredBytes) / tb * g.cfg.Prices.AccountStorage
	egress := float64(u.EgressBytes) / tb * g.cfg.Prices.AccountEgress
	writeJSON(w, http.StatusOK, api.UsageResponse{
		Account: acct, Pins: u.Pins, StoredBytes: u.StoredBytes, ReplicaByteHours: u.ByteHours, EgressBytes: u.EgressBytes,
		StorageUSDPerMonth: storage, EgressUSD: egress,
		StoragePricePerTBMonth: g.cfg.Prices.AccountStorage, EgressPricePerTB: g.cfg.Prices.AccountEgress,
	})
}

// registryError answers 404 or 503 for a registry error and reports
// whether it did.
func (g *Gateway) registryError(w http.ResponseWriter, err error, what string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, registry.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such "+what)
	default:
		g.log.Warn("registry", "err", err)
		writeError(w, http.StatusServiceUnavailable, "registry unavailable")
	}
	return true
}

func intParam(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func timeParam(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
