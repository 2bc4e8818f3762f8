package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"fmt"

	"dstor/shared/api"
	"dstor/shared/enroll"
)

// enroll asks the gateway for a certificate, retrying until it answers or
// ctx ends (a gateway may start after its nodes).
func (n *Node) enroll(ctx context.Context) (tls.Certificate, error) {
	cert, err := enroll.Do(ctx, enroll.Request{
		URL:  n.cfg.Gateway + "/v1/nodes/enroll",
		Pool: n.pool,
		Key:  n.key,
		Body: api.EnrollRequest{
			Token:     n.cfg.EnrollToken,
			PublicKey: n.key.Public().(ed25519.PublicKey),
			Region:    n.cfg.Region,
			URL:       n.url,
			Operator:  n.cfg.Operator,
		},
		Log: n.log,
	})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("node: %w", err)
	}
	return cert, nil
}
