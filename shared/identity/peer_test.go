package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

// signLeaf has ca sign a leaf for pub with the given CN and URI SANs,
// bypassing Issue so malformed identities can be produced.
func signLeaf(t *testing.T, ca *CA, pub crypto.PublicKey, cn string, uris ...string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", s, err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPeerOf(t *testing.T) {
	ca := newTestCA(t)
	pub := newKey(t).Public().(ed25519.PublicKey)
	id := ID(pub)
	otherID := ID(newKey(t).Public().(ed25519.PublicKey))
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	uri := func(role string) string { return "dstor://" + role + "/" + id }

	tests := []struct {
		name    string
		leaf    *x509.Certificate
		want    Peer
		wantErr string
	}{
		{"issued gateway", parsePEMCert(t, mustIssueFor(t, ca, pub, RoleGateway)), Peer{RoleGateway, id}, ""},
		{"issued node", parsePEMCert(t, mustIssueFor(t, ca, pub, RoleNode)), Peer{RoleNode, id}, ""},
		{"hand-made auditor plus https URI", signLeaf(t, ca, pub, id, "https://example.com/", uri("auditor")), Peer{RoleAuditor, id}, ""},
		{"nil certificate", nil, Peer{}, "no certificate"},
		{"no URI SAN", signLeaf(t, ca, pub, id), Peer{}, "no dstor URI"},
		{"only other scheme", signLeaf(t, ca, pub, id, "https://gateway/"+id), Peer{}, "no dstor URI"},
		{"two dstor URIs", signLeaf(t, ca, pub, id, uri("node"), uri("gateway")), Peer{}, "more than one"},
		{"CN differs", signLeaf(t, ca, pub, "someone", uri("node")), Peer{}, "CN"},
		{"unknown role", signLeaf(t, ca, pub, id, uri("admin")), Peer{}, "unknown role"},
		{"uppercase role", signLeaf(t, ca, pub, id, uri("NODE")), Peer{}, "unknown role"},
		{"role with port", signLeaf(t, ca, pub, id, uri("node:443")), Peer{}, "unknown role"},
		{"userinfo", signLeaf(t, ca, pub, id, "dstor://u@node/"+id), Peer{}, "malformed"},
		{"query", signLeaf(t, ca, pub, id, uri("node")+"?x=1"), Peer{}, "malformed"},
		{"fragment", signLeaf(t, ca, pub, id, uri("node")+"#x"), Peer{}, "malformed"},
		{"opaque", signLeaf(t, ca, pub, id, "dstor:node/"+id), Peer{}, "malformed"},
		{"extra path", signLeaf(t, ca, pub, id+"/x", uri("node")+"/x"), Peer{}, "malformed id"},
		{"empty id", signLeaf(t, ca, pub, "", "dstor://node/"), Peer{}, "malformed id"},
		{"short id", signLeaf(t, ca, pub, id[:25], "dstor://node/"+id[:25]), Peer{}, "malformed id"},
		{"id of another key", signLeaf(t, ca, pub, otherID, "dstor://node/"+otherID), Peer{}, "does not match public key"},
		{"ecdsa leaf", signLeaf(t, ca, ecKey.Public(), id, uri("node")), Peer{}, "want ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PeerOf(tt.leaf)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PeerOf = %+v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PeerOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func mustIssueFor(t *testing.T, ca *CA, pub ed25519.PublicKey, role Role) []byte {
	t.Helper()
	certPEM, err := ca.Issue(pub, role, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return certPEM
}
