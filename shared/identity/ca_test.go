package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateCA(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "ca")
		ca, err := LoadOrCreateCA(dir)
		if err != nil {
			t.Fatal(err)
		}
		c := ca.Cert
		if c.Subject.CommonName != "dStor dev CA" {
			t.Errorf("CN = %q", c.Subject.CommonName)
		}
		if !c.IsCA || !c.BasicConstraintsValid {
			t.Error("not a CA certificate")
		}
		if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; c.KeyUsage != want {
			t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, want)
		}
		if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
			t.Errorf("public key %T is not ECDSA P-256", c.PublicKey)
		}
		if err := c.CheckSignatureFrom(c); err != nil {
			t.Errorf("not self-signed: %v", err)
		}
		if d := c.NotAfter.Sub(time.Now()); d < 9*365*24*time.Hour || d > 11*365*24*time.Hour {
			t.Errorf("validity left %v, want about 10 years", d)
		}
		fi, err := os.Stat(filepath.Join(dir, "ca.key"))
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("ca.key mode = %o, want 600", mode)
		}
		onDisk, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(onDisk, ca.CertPEM) {
			t.Error("ca.pem differs from CertPEM")
		}
	})

	t.Run("reload", func(t *testing.T) {
		dir := t.TempDir()
		first, err := LoadOrCreateCA(dir)
		if err != nil {
			t.Fatal(err)
		}
		second, err := LoadOrCreateCA(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !second.Cert.Equal(first.Cert) || !bytes.Equal(second.CertPEM, first.CertPEM) {
			t.Fatal("reloaded CA certificate differs")
		}
		// The reloaded key must sign certificates the first CA's pool accepts.
		d := newDaemon(t, second, RoleNode)
		_, err = d.cert.Leaf.Verify(x509.VerifyOptions{
			Roots:     first.Pool(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			t.Errorf("cert from reloaded CA does not verify: %v", err)
		}
	})

	half := []struct {
		name   string
		remove string
	}{
		{"only ca.pem", "ca.key"},
		{"only ca.key", "ca.pem"},
	}
	for _, tt := range half {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreateCA(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, tt.remove)); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateCA(dir)
			if err == nil || !strings.Contains(err.Error(), tt.remove) {
				t.Fatalf("err = %v, want error naming %s", err, tt.remove)
			}
			if _, err := os.Stat(filepath.Join(dir, tt.remove)); err == nil {
				t.Errorf("%s was recreated", tt.remove)
			}
		})
	}

	t.Run("key does not match cert", func(t *testing.T) {
		a, b := t.TempDir(), t.TempDir()
		for _, dir := range []string{a, b} {
			if _, err := LoadOrCreateCA(dir); err != nil {
				t.Fatal(err)
			}
		}
		key, err := os.ReadFile(filepath.Join(b, "ca.key"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(a, "ca.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateCA(a); err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("err = %v, want mismatch error", err)
		}
	})

	t.Run("corrupt ca.pem", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := LoadOrCreateCA(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateCA(dir); err == nil {
			t.Fatal("corrupt ca.pem accepted")
		}
	})
}

func TestIssue(t *testing.T) {
	ca := newTestCA(t)
	tests := []struct {
		name    string
		role    Role
		hosts   []string
		wantIPs []string
		wantDNS []string
	}{
		{"gateway loopback", RoleGateway, []string{"127.0.0.1", "localhost"}, []string{"127.0.0.1"}, []string{"localhost"}},
		{"node ipv6 and names", RoleNode, []string{"::1", "[2001:db8::1]", "node1.example", "localhost"}, []string{"::1", "2001:db8::1"}, []string{"node1.example", "localhost"}},
		{"auditor no hosts", RoleAuditor, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := newKey(t)
			pub := key.Public().(ed25519.PublicKey)
			id := ID(pub)
			certPEM, err := ca.Issue(pub, tt.role, tt.hosts)
			if err != nil {
				t.Fatal(err)
			}
			c := parsePEMCert(t, certPEM)
			if c.Subject.CommonName != id {
				t.Errorf("CN = %q, want %q", c.Subject.CommonName, id)
			}
			wantURI := "dstor://" + string(tt.role) + "/" + id
			if len(c.URIs) != 1 || c.URIs[0].String() != wantURI {
				t.Errorf("URIs = %v, want [%s]", c.URIs, wantURI)
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if strings.Join(ips, ",") != strings.Join(tt.wantIPs, ",") {
				t.Errorf("IP SANs = %v, want %v", ips, tt.wantIPs)
			}
			if strings.Join(c.DNSNames, ",") != strings.Join(tt.wantDNS, ",") {
				t.Errorf("DNS SANs = %v, want %v", c.DNSNames, tt.wantDNS)
			}
			if c.IsCA {
				t.Error("leaf is a CA")
			}
			if c.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("KeyUsage = %v", c.KeyUsage)
			}
			if len(c.ExtKeyUsage) != 2 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || c.ExtKeyUsage[1] != x509.ExtKeyUsageClientAuth {
				t.Errorf("ExtKeyUsage = %v", c.ExtKeyUsage)
			}
			if !c.PublicKey.(ed25519.PublicKey).Equal(pub) {
				t.Error("certificate public key differs")
			}
			now := time.Now()
			if d := now.Sub(c.NotBefore); d < 59*time.Minute || d > 61*time.Minute {
				t.Errorf("NotBefore is %v ago, want 1h", d)
			}
			if d := c.NotAfter.Sub(now); d < 364*24*time.Hour || d > 367*24*time.Hour {
				t.Errorf("NotAfter in %v, want 1 year", d)
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %v not a positive 128-bit number", c.SerialNumber)
			}
			p, err := PeerOf(c)
			if err != nil || p != (Peer{Role: tt.role, ID: id}) {
				t.Errorf("PeerOf = %+v, %v", p, err)
			}
			for _, host := range tt.wantIPs {
				if err := c.VerifyHostname(host); err != nil {
					t.Errorf("VerifyHostname(%s): %v", host, err)
				}
			}
			for _, eku := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{eku}}); err != nil {
					t.Errorf("Verify(%v): %v", eku, err)
				}
			}
		})
	}

	t.Run("127.0.0.1 is an IP SAN, not DNS", func(t *testing.T) {
		c := parsePEMCert(t, mustIssue(t, ca, RoleGateway, "127.0.0.1"))
		if len(c.DNSNames) != 0 || len(c.IPAddresses) != 1 || !c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
			t.Errorf("IPs %v DNS %v", c.IPAddresses, c.DNSNames)
		}
	})

	t.Run("serials differ", func(t *testing.T) {
		a := parsePEMCert(t, mustIssue(t, ca, RoleNode))
		b := parsePEMCert(t, mustIssue(t, ca, RoleNode))
		if a.SerialNumber.Cmp(b.SerialNumber) == 0 {
			t.Error("two certificates share a serial")
		}
	})

	goodPub := newKey(t).Public().(ed25519.PublicKey)
	bad := []struct {
		name  string
		ca    *CA
		pub   ed25519.PublicKey
		role  Role
		hosts []string
		want  string
	}{
		{"unknown role", ca, goodPub, Role("admin"), nil, "unknown role"},
		{"empty role", ca, goodPub, "", nil, "unknown role"},
		{"short key", ca, goodPub[:31], RoleNode, nil, "public key"},
		{"nil key", ca, nil, RoleNode, nil, "public key"},
		{"empty host", ca, goodPub, RoleNode, []string{"localhost", ""}, "empty host"},
		{"CA without key", &CA{Cert: ca.Cert, CertPEM: ca.CertPEM}, goodPub, RoleNode, nil, "signing key"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ca.Issue(tt.pub, tt.role, tt.hosts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func mustIssue(t *testing.T, ca *CA, role Role, hosts ...string) []byte {
	t.Helper()
	certPEM, err := ca.Issue(newKey(t).Public().(ed25519.PublicKey), role, hosts)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM
}

func TestLoadPool(t *testing.T) {
	ca1, ca2 := newTestCA(t), newTestCA(t)
	leaf := mustIssue(t, ca1, RoleNode)
	tests := []struct {
		name    string
		data    []byte // nil: file is missing
		wantErr string
		trusts  []*CA
		others  []*CA // CAs the pool must not trust
	}{
		{"one CA", ca1.CertPEM, "", []*CA{ca1}, []*CA{ca2}},
		{"two CAs with comments", append(append([]byte("# bundle\n"), ca1.CertPEM...), ca2.CertPEM...), "", []*CA{ca1, ca2}, nil},
		{"missing file", nil, "no such file", nil, nil},
		{"no certificates", []byte("nothing here"), "no PEM certificate", nil, nil},
		{"only a key", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "no PEM certificate", nil, nil},
		{"corrupt certificate", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "certificate 1", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ca.pem")
			if tt.data != nil {
				if err := os.WriteFile(path, tt.data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			pool, err := LoadPool(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, ca := range tt.trusts {
				if !containsCA(pool, ca) {
					t.Errorf("pool lacks CA %x", ca.Cert.SerialNumber)
				}
			}
			for _, ca := range tt.others {
				if containsCA(pool, ca) {
					t.Errorf("pool trusts unlisted CA %x", ca.Cert.SerialNumber)
				}
			}
			if _, err := parsePEMCert(t, leaf).Verify(x509.VerifyOptions{Roots: pool}); err != nil {
				t.Errorf("leaf of ca1 does not verify against pool: %v", err)
			}
		})
	}
}

// containsCA reports whether ca's (self-signed) certificate verifies
// against pool, i.e. whether pool trusts ca.
func containsCA(pool *x509.CertPool, ca *CA) bool {
	_, err := ca.Cert.Verify(x509.VerifyOptions{Roots: pool})
	return err == nil
}

func TestNewIdentity(t *testing.T) {
	ca := newTestCA(t)
	cert, id, err := ca.NewIdentity(RoleAuditor, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("not issued by the CA: %v", err)
	}
	peer, err := PeerOf(leaf)
	if err != nil || peer != (Peer{Role: RoleAuditor, ID: id}) {
		t.Fatalf("PeerOf = %+v, %v; want auditor %s", peer, err, id)
	}
	if pub := cert.PrivateKey.(ed25519.PrivateKey).Public().(ed25519.PublicKey); ID(pub) != id {
		t.Fatalf("id %s is not the key's %s", id, ID(pub))
	}
	if _, other, _ := ca.NewIdentity(RoleAuditor, nil); other == id {
		t.Fatal("two identities share an id")
	}
}
