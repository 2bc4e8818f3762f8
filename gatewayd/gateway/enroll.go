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
	pub, ok := g.admit(w, r, &req, func() (string, []byte) { return req.Token, req.PublicKey })
	if !ok {
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
	pub, ok := g.admit(w, r, &req, func() (string, []byte) { return req.Token, req.PublicKey })
	if !ok {
		return
	}
	certPEM, err := g.ca.Issue(pub, identity.RoleAuditor, nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, "issue certificate: "+err.Error())
		return
	}
	id := identity.ID(pub)
	g.log.Info("auditor enrolled", "auditor", id)
	writeJSON(w, http.StatusOK, api.EnrollResponse{ID: id, Cert: string(certPEM)})
}

// admit decodes an enrollment request into req and checks its token and
// key (creds reads them from req once decoded), answering the error
// itself when it fails.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, req any, creds func() (token string, key []byte)) (ed25519.PublicKey, bool) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		writeError(w, http.StatusBadRequest, "bad enrollment request: "+err.Error())
		return nil, false
	}
	token, key := creds()
	err := g.reg.CheckEnrollToken(r.Context(), hashSecret(token))
	if errors.Is(err, registry.ErrNotFound) || token == "" {
		writeError(w, http.StatusForbidden, "unknown enrollment token")
		return nil, false
	} else if err != nil {
		writeError(w, http.StatusServiceUnavailable, "registry unavailable")
		return nil, false
	}
	if len(key) != ed25519.PublicKeySize {
		writeError(w, http.StatusBadRequest, "public_key must be a 32-byte ed25519 key")
		return nil, false
	}
	return ed25519.PublicKey(key), true
}
