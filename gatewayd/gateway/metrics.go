package gateway

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"

	"dstor/shared/choose"
)

// metrics are the gateway's counters, exposed at GET /metrics in the
// Prometheus text format.
type metrics struct {
	probes, probeMisses atomic.Int64
	noNode              atomic.Int64 // reads no node could serve
	uploads             atomic.Int64 // blobs acknowledged
	ingestBytes         atomic.Int64 // bytes received from clients in acknowledged uploads
	replicaBytes        atomic.Int64 // bytes the gateway sent to nodes (every copy)
	pullsOK, pullsFail  atomic.Int64 // pull orders
	reports             atomic.Int64 // bad copies reported by nodes

	mu        sync.Mutex
	redirects map[redirectKey]*atomic.Int64
}

type redirectKey struct {
	node, region, how string
	fallback          bool
}

func newMetrics() *metrics {
	return &metrics{redirects: make(map[redirectKey]*atomic.Int64)}
}

// redirect counts a read sent to c; how is how the client was placed.
func (m *metrics) redirect(c choose.Choice, how string) {
	k := redirectKey{c.Node.ID, c.Region, how, c.Fallback}
	m.mu.Lock()
	n := m.redirects[k]
	if n == nil {
		n = new(atomic.Int64)
		m.redirects[k] = n
	}
	m.mu.Unlock()
	n.Add(1)
}

func (g *Gateway) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	m := g.metrics
	counter := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("dstor_gateway_probes_total", "Probes sent to nodes.", m.probes.Load())
	counter("dstor_gateway_probe_misses_total", "Probes that failed or timed out.", m.probeMisses.Load())
	counter("dstor_gateway_reads_unserved_total", "Reads no live node could serve.", m.noNode.Load())
	counter("dstor_gateway_uploads_total", "Uploads acknowledged.", m.uploads.Load())
	counter("dstor_gateway_ingest_bytes_total", "Bytes of acknowledged uploads received from clients.", m.ingestBytes.Load())
	counter("dstor_gateway_replica_bytes_sent_total", "Bytes the gateway sent to nodes, every copy counted.", m.replicaBytes.Load())
	counter("dstor_gateway_pulls_ok_total", "Pull orders that left a verified copy.", m.pullsOK.Load())
	counter("dstor_gateway_pulls_failed_total", "Pull orders that failed.", m.pullsFail.Load())
	counter("dstor_gateway_bad_copies_reported_total", "Copies nodes reported as failing verification.", m.reports.Load())

	m.mu.Lock()
	keys := make([]redirectKey, 0, len(m.redirects))
	for k := range m.redirects {
		keys = append(keys, k)
	}
	m.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.node != b.node {
			return a.node < b.node
		}
		return a.how < b.how
	})
	io.WriteString(w, "# HELP dstor_gateway_redirects_total Reads redirected, by chosen node and region, how the client was placed, and whether the node is outside the client's region.\n# TYPE dstor_gateway_redirects_total counter\n")
	for _, k := range keys {
		m.mu.Lock()
		v := m.redirects[k].Load()
		m.mu.Unlock()
		fmt.Fprintf(w, "dstor_gateway_redirects_total{node=%q,region=%q,client_placed_by=%q,fallback=\"%t\"} %d\n", k.node, k.region, k.how, k.fallback, v)
	}

	io.WriteString(w, "# HELP dstor_gateway_node_up Whether the node answers probes (1), is suspect (0.5) or down (0).\n# TYPE dstor_gateway_node_up gauge\n")
	all := g.nodes.all()
	for _, n := range all {
		v := map[string]string{"up": "1", "suspect": "0.5", "down": "0"}[n.state()]
		fmt.Fprintf(w, "dstor_gateway_node_up{node=%q,region=%q} %s\n", n.ID, n.Region, v)
	}
	io.WriteString(w, "# HELP dstor_gateway_node_rtt_seconds Smoothed QUIC RTT from the gateway.\n# TYPE dstor_gateway_node_rtt_seconds gauge\n")
	for _, n := range all {
		fmt.Fprintf(w, "dstor_gateway_node_rtt_seconds{node=%q,region=%q} %g\n", n.ID, n.Region, n.rtt.Smoothed.Seconds())
	}
	io.WriteString(w, "# HELP dstor_gateway_node_availability EWMA of probe and request success.\n# TYPE dstor_gateway_node_availability gauge\n")
	for _, n := range all {
		fmt.Fprintf(w, "dstor_gateway_node_availability{node=%q,region=%q} %g\n", n.ID, n.Region, n.avail)
	}
}
