package identity

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
)

// KeyPair builds a tls.Certificate from certPEM (the leaf first, then any
// intermediates) and the ed25519 key. It fails if the leaf's public key does
// not match key.
func KeyPair(certPEM []byte, key ed25519.PrivateKey) (tls.Certificate, error) {
	if len(key) != ed25519.PrivateKeySize {
		return tls.Certificate{}, fmt.Errorf("identity: key pair: private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	var chain [][]byte
	for rest := certPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == pemCertificate {
			chain = append(chain, block.Bytes)
		}
	}
	if len(chain) == 0 {
		return tls.Certificate{}, errors.New("identity: key pair: no CERTIFICATE PEM block")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("identity: key pair: %w", err)
	}
	pub, ok := leaf.PublicKey.(ed25519.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return tls.Certificate{}, errors.New("identity: key pair: certificate does not match private key")
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// ServerConfig returns a TLS 1.3 config serving cert. For ClientHellos that
// offer any protocol in mtlsProtos (e.g. "dstor/1") it requires and verifies
// a client certificate chained to pool (with ExtKeyUsageClientAuth and a
// parseable [Peer] identity), and negotiates only those protocols; for all
// others (e.g. "h3", "h2", "http/1.1" in publicProtos) it asks for no client
// certificate and negotiates only publicProtos. The choice is made in
// GetConfigForClient. A nil pool trusts no client.
func ServerConfig(cert tls.Certificate, pool *x509.CertPool, publicProtos, mtlsProtos []string) *tls.Config {
	if pool == nil {
		pool = x509.NewCertPool()
	}
	mtlsSet := slices.Clone(mtlsProtos)
	public := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   slices.Clone(publicProtos),
		ClientAuth:   tls.NoClientCert,
	}
	mtls := &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		NextProtos:       slices.Clone(mtlsProtos),
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        pool,
		VerifyConnection: verifyClientPeer,
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   append(slices.Clone(publicProtos), mtlsProtos...),
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			for _, p := range hello.SupportedProtos {
				if slices.Contains(mtlsSet, p) {
					return mtls, nil
				}
			}
			return public, nil
		},
	}
}

// verifyClientPeer requires the (already chain-verified) client certificate
// to carry a Peer identity. It also runs on resumed sessions.
func verifyClientPeer(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("identity: client sent no certificate")
	}
	if _, err := PeerOf(cs.PeerCertificates[0]); err != nil {
		return fmt.Errorf("identity: client certificate: %w", err)
	}
	return nil
}

// ClientConfig returns a TLS 1.3 config for dialing a daemon over protocol
// alpn, presenting cert as client certificate. It verifies the server's
// chain against pool itself (ExtKeyUsageServerAuth; hostnames and IPs are
// not checked, so the config sets InsecureSkipVerify and verifies in
// VerifyConnection), requires the server to negotiate alpn, and then
// requires the server's [Peer] identity to have role want.Role and, if
// want.ID != "", exactly that id. Errors name what mismatched. A nil pool
// trusts no server.
func ClientConfig(cert tls.Certificate, pool *x509.CertPool, alpn string, want Peer) *tls.Config {
	if pool == nil {
		pool = x509.NewCertPool()
	}
	var protos []string
	if alpn != "" {
		protos = []string{alpn}
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: protos,
		// Always present our certificate, even if the server's CA hints do
		// not list our issuer, so a refusal is explained by the server.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
		// The chain and identity are verified in VerifyConnection, which
		// also runs on resumed sessions; hostnames play no part.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyServerPeer(cs, pool, alpn, want)
		},
	}
}

// verifyServerPeer verifies the server's chain against pool and checks its
// negotiated protocol and Peer identity against alpn and want.
func verifyServerPeer(cs tls.ConnectionState, pool *x509.CertPool, alpn string, want Peer) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("identity: server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	intermediates := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: intermediates,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("identity: server certificate: %w", err)
	}
	got, err := PeerOf(leaf)
	if err != nil {
		return fmt.Errorf("identity: server certificate: %w", err)
	}
	if alpn != "" && cs.NegotiatedProtocol != alpn {
		return fmt.Errorf("identity: server negotiated protocol %q, want %q", cs.NegotiatedProtocol, alpn)
	}
	if got.Role != want.Role {
		return fmt.Errorf("identity: server %s has role %q, want role %q", got.ID, got.Role, want.Role)
	}
	if want.ID != "" && got.ID != want.ID {
		return fmt.Errorf("identity: server %s has id %q, want id %q", got.Role, got.ID, want.ID)
	}
	return nil
}
