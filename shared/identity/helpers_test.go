package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// testSeed returns a deterministic 32-byte ed25519 seed 0, 1, ..., 31.
func testSeed() []byte {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return seed
}

func newTestCA(t *testing.T) *CA {
	t.Helper()
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatalf("LoadOrCreateCA: %v", err)
	}
	return ca
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// daemon is a CA-issued identity for tests.
type daemon struct {
	key  ed25519.PrivateKey
	cert tls.Certificate
	peer Peer
}

func newDaemon(t *testing.T, ca *CA, role Role, hosts ...string) daemon {
	t.Helper()
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	certPEM, err := ca.Issue(pub, role, hosts)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	cert, err := KeyPair(certPEM, key)
	if err != nil {
		t.Fatalf("KeyPair: %v", err)
	}
	return daemon{key: key, cert: cert, peer: Peer{Role: role, ID: ID(pub)}}
}

func parsePEMCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no CERTIFICATE PEM block in %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	return cert
}
