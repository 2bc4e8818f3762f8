package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"dstor/shared/api"
	"dstor/shared/identity"
)

// enroll asks the gateway for a certificate, retrying until it answers or
// ctx ends (a gateway may start after its nodes).
func (n *Node) enroll(ctx context.Context) (tls.Certificate, error) {
	body, _ := json.Marshal(api.EnrollRequest{
		Token:     n.cfg.EnrollToken,
		PublicKey: n.key.Public().(ed25519.PublicKey),
		Region:    n.cfg.Region,
		URL:       n.url,
		Operator:  n.cfg.Operator,
	})
	hc := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: n.pool, MinVersion: tls.VersionTLS13}},
	}
	defer hc.CloseIdleConnections()
	delay := 100 * time.Millisecond
	for {
		cert, retry, err := n.enrollOnce(ctx, hc, body)
		if err == nil {
			return cert, nil
		}
		if !retry {
			return tls.Certificate{}, fmt.Errorf("node: enroll: %w", err)
		}
		n.log.Info("gateway not reachable yet, retrying enrollment", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return tls.Certificate{}, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

func (n *Node) enrollOnce(ctx context.Context, hc *http.Client, body []byte) (tls.Certificate, bool, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.Gateway+"/v1/nodes/enroll", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return tls.Certificate{}, true, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e api.Error
		json.NewDecoder(resp.Body).Decode(&e)
		err := fmt.Errorf("gateway answered %s: %s", resp.Status, e.Error)
		return tls.Certificate{}, resp.StatusCode >= 500, err
	}
	var er api.EnrollResponse
	if err := json.NewDecoder(resp.Body).Decode(&er); err != nil {
		return tls.Certificate{}, false, err
	}
	if er.ID != n.id {
		return tls.Certificate{}, false, fmt.Errorf("gateway enrolled id %s, ours is %s", er.ID, n.id)
	}
	cert, err := identity.KeyPair([]byte(er.Cert), n.key)
	return cert, false, err
}
