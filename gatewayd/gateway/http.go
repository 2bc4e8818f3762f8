package gateway

import (
	"encoding/json"
	"net/http"

	"dstor/shared/api"
	"dstor/shared/registry"
)

func (g *Gateway) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/blobs", g.handleUpload)
	mux.HandleFunc("GET /ipfs/{cid}", g.handleRead)
	mux.HandleFunc("HEAD /ipfs/{cid}", g.handleRead)
	mux.HandleFunc("GET /v1/pins/{cid}", g.handlePin)
	mux.HandleFunc("GET /v1/nodes", g.handleNodes)
	mux.HandleFunc("POST /v1/nodes/enroll", g.handleEnroll)
	mux.HandleFunc("GET /healthz", g.handleHealth)
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

func pinResponse(p registry.PinInfo) api.PinResponse {
	out := api.PinResponse{CID: p.CID, Size: p.Size, Status: p.Status, Holders: []api.Holder{}}
	for _, h := range p.Holders {
		out.Holders = append(out.Holders, api.Holder{ID: h.NodeID, Region: h.Region, URL: h.URL})
	}
	return out
}

func (g *Gateway) nodesResponse() api.NodesResponse {
	out := api.NodesResponse{Nodes: []api.Node{}}
	for _, n := range g.nodes.all() {
		state := "down"
		if n.up {
			state = "up"
		}
		st := n.status
		out.Nodes = append(out.Nodes, api.Node{
			ID: n.ID, Region: n.Region, URL: n.URL, State: state,
			Accepting: n.up && st.Accepting, Capacity: st.Capacity, Free: st.Free,
			Blobs: st.Blobs, Used: st.Used, InFlight: st.InFlight,
			BytesServed: st.BytesServed, CacheHitRatio: st.HitRatio(),
		})
	}
	return out
}
