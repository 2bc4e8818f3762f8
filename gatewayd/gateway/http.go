package gateway

import (
	"encoding/json"
	"net/http"
	"time"

	"dstor/shared/api"
	"dstor/shared/registry"
)

func (g *Gateway) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/blobs", g.handleUpload)
	mux.HandleFunc("GET /ipfs/{cid}", g.handleRead)
	mux.HandleFunc("HEAD /ipfs/{cid}", g.handleRead)
	mux.HandleFunc("GET /v1/pins", g.handlePins)
	mux.HandleFunc("GET /v1/pins/{cid}", g.handlePin)
	mux.HandleFunc("DELETE /v1/pins/{cid}", g.handleUnpin)
	mux.HandleFunc("GET /v1/nodes", g.handleNodes)
	mux.HandleFunc("GET /v1/nodes/{id}/audits", g.handleAudits)
	mux.HandleFunc("GET /v1/nodes/{id}/earnings", g.handleEarnings)
	mux.HandleFunc("GET /v1/account/usage", g.handleUsage)
	mux.HandleFunc("POST /v1/nodes/enroll", g.handleEnroll)
	mux.HandleFunc("POST /v1/auditors/enroll", g.handleEnrollAuditor)
	mux.HandleFunc("GET /healthz", g.handleHealth)
	mux.HandleFunc("GET /metrics", g.handleMetrics)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, api.Error{Error: msg})
}

// timeText is t in RFC 3339 (UTC), or "" if t is zero.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func pinResponse(p registry.PinInfo) api.PinResponse {
	out := api.PinResponse{CID: p.CID, Size: p.Size, Status: p.Status, Replicas: p.Replicas, LastAudit: timeText(p.LastAudit), Holders: []api.Holder{}}
	for _, h := range p.Holders {
		out.Holders = append(out.Holders, api.Holder{
			ID: h.NodeID, Region: h.Region, URL: h.URL, Status: h.Status,
			LastAudit: timeText(h.LastAudit), LastOutcome: h.LastOutcome,
		})
		if h.Status == registry.StatusPinned {
			out.Pinned++
		}
	}
	return out
}

func (g *Gateway) nodesResponse() api.NodesResponse {
	out := api.NodesResponse{Nodes: []api.Node{}}
	for _, n := range g.nodes.all() {
		st := n.status
		out.Nodes = append(out.Nodes, api.Node{
			ID: n.ID, Region: n.Region, URL: n.URL, State: n.state(), Operator: n.operator(), Standing: n.standing,
			RTTms:        ms(n.rtt.Smoothed),
			RTTVarms:     ms(n.rtt.Deviation),
			Availability: n.avail,
			Load:         st.InFlight,
			Draining:     st.Draining,
			Accepting:    n.up && st.Accepting, Capacity: st.Capacity, Free: st.Free,
			Blobs: st.Blobs, Used: st.Used, InFlight: st.InFlight,
			BytesServed: st.BytesServed, CacheHitRatio: st.HitRatio(),
		})
	}
	out.RegionRTT = map[string]map[string]float64{}
	for a, row := range g.nodes.regionRTT() {
		out.RegionRTT[a] = map[string]float64{}
		for b, d := range row {
			out.RegionRTT[a][b] = ms(d)
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
