// Package enroll is the daemon side of joining a network: a node or an
// auditor sends the gateway the network's token and its public key, and
// gets back a certificate issued by the network's CA for that key.
package enroll

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"dstor/shared/api"
	"dstor/shared/identity"
)

// Request is one enrollment.
type Request struct {
	// URL is the gateway's enrollment endpoint, such as
	// https://gw:8443/v1/nodes/enroll.
	URL string
	// Pool holds the network's CA, which the gateway's certificate
	// must chain to.
	Pool *x509.CertPool
	// Key is the daemon's key; the certificate is issued for its public
	// half and the gateway must answer with the id it derives.
	Key ed25519.PrivateKey
	// Body is the JSON request (api.EnrollRequest,
	// api.EnrollAuditorRequest).
	Body any
	// Log receives a line per retry.
	Log *slog.Logger
}

// ReadToken reads the network's enrollment token from path (as the
// gateway writes it, or an operator copies it), without surrounding
// white space.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("enroll: token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Do enrolls, retrying with backoff while the gateway cannot be reached
// or answers 5xx (a gateway may start after its daemons), until ctx ends.
// A 4xx answer, such as a wrong token, is final.
func Do(ctx context.Context, r Request) (tls.Certificate, error) {
	body, err := json.Marshal(r.Body)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("enroll: %w", err)
	}
	hc := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.Pool, MinVersion: tls.VersionTLS13}},
	}
	defer hc.CloseIdleConnections()
	delay := 100 * time.Millisecond
	for {
		cert, retry, err := r.once(ctx, hc, body)
		if err == nil {
			return cert, nil
		}
		if !retry {
			return tls.Certificate{}, fmt.Errorf("enroll: %w", err)
		}
		r.Log.Info("gateway not reachable yet, retrying enrollment", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return tls.Certificate{}, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// once is one attempt; retry tells whether another may succeed.
func (r Request) once(ctx context.Context, hc *http.Client, body []byte) (cert tls.Certificate, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return tls.Certificate{}, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return tls.Certificate{}, ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e api.Error
		json.NewDecoder(resp.Body).Decode(&e)
		return tls.Certificate{}, resp.StatusCode >= 500, fmt.Errorf("gateway answered %s: %s", resp.Status, e.Error)
	}
	var er api.EnrollResponse
	if err := json.NewDecoder(resp.Body).Decode(&er); err != nil {
		return tls.Certificate{}, false, err
	}
	if want := identity.ID(r.Key.Public().(ed25519.PublicKey)); er.ID != want {
		return tls.Certificate{}, false, fmt.Errorf("gateway enrolled id %s, ours is %s", er.ID, want)
	}
	cert, err = identity.KeyPair([]byte(er.Cert), r.Key)
	return cert, false, err
}
