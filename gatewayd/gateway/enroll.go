package gateway

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"

	"dstor/shared/api"
	"dstor/shared/identity"
	"dstor/shared/registry"
)

// handleEnroll is POST /v1/nodes/enroll: a node presents an enrollment
// token and its ed25519 key and receives a CA-issued certificate.
func (g *Gateway) handleEnroll(w http.ResponseWriter, r *http.Request) {
	var req api.EnrollRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad enrollment request: "+err.Error())
		return
	}
	err := g.reg.CheckEnrollToken(r.Context(), hashSecret(req.Token))
	if errors.Is(err, registry.ErrNotFound) || req.Token == "" {
		writeError(w, http.StatusForbidden, "unknown enrollment token")
		return
	} else if err != nil {
		writeError(w, http.StatusServiceUnavailable, "registry unavailable")
		return
	}
	if len(req.PublicKey) != ed25519.PublicKeySize {
		writeError(w, http.StatusBadRequest, "public_key must be a 32-byte ed25519 key")
		return
	}
	u, err := url.Parse(req.URL)
	if err != nil || u.Scheme != "https" || u.Port() == "" || u.Path != "" {
		writeError(w, http.StatusBadRequest, "url must be https://host:port")
		return
	}
	if req.Region == "" {
		writeError(w, http.StatusBadRequest, "region is required")
		return
	}
	pub := ed25519.PublicKey(req.PublicKey)
	host, _, _ := net.SplitHostPort(u.Host)
	certPEM, err := g.ca.Issue(pub, identity.RoleNode, []string{host})
	if err != nil {
		writeError(w, http.StatusBadRequest, "issue certificate: "+err.Error())
		return
	}
	n := registry.Node{ID: identity.ID(pub), Region: req.Region, URL: req.URL, PublicKey: pub}
	if err := g.reg.UpsertNode(r.Context(), n); err != nil {
		writeError(w, http.StatusServiceUnavailable, "record node: "+err.Error())
		return
	}
	g.nodes.upsert(n, false)
	g.log.Info("node enrolled", "node", n.ID, "region", n.Region, "url", n.URL)
	writeJSON(w, http.StatusOK, api.EnrollResponse{ID: n.ID, Cert: string(certPEM)})
}

// handleEnrollAuditor is POST /v1/auditors/enroll: an auditd presents an
// enrollment token and its ed25519 key and receives an auditor
// certificate, with which it challenges nodes and orders repairs.
func (g *Gateway) handleEnrollAuditor(w http.ResponseWriter, r *http.Request) {
	var req api.EnrollAuditorRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad enrollment request: "+err.Error())
		return
	}
	err := g.reg.CheckEnrollToken(r.Context(), hashSecret(req.Token))
	if errors.Is(err, registry.ErrNotFound) || req.Token == "" {
		writeError(w, http.StatusForbidden, "unknown enrollment token")
		return
	} else if err != nil {
		writeError(w, http.StatusServiceUnavailable, "registry unavailable")
		return
	}
	if len(req.PublicKey) != ed25519.PublicKeySize {
		writeError(w, http.StatusBadRequest, "public_key must be a 32-byte ed25519 key")
		return
	}
	pub := ed25519.PublicKey(req.PublicKey)
	certPEM, err := g.ca.Issue(pub, identity.RoleAuditor, nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, "issue certificate: "+err.Error())
		return
	}
	id := identity.ID(pub)
	g.log.Info("auditor enrolled", "auditor", id)
	writeJSON(w, http.StatusOK, api.EnrollResponse{ID: id, Cert: string(certPEM)})
}
