package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	caCertFile   = "ca.pem"
	caKeyFile    = "ca.key"
	caCommonName = "dStor dev CA"
	caYears      = 10
	leafBackdate = time.Hour
	leafYears    = 1
)

// CA is the dStor certificate authority that issues daemon certificates.
type CA struct {
	// Cert is the parsed, self-signed CA certificate.
	Cert *x509.Certificate
	// CertPEM is the PEM encoding of Cert, as stored in ca.pem.
	CertPEM []byte
	key     crypto.Signer
}

// LoadOrCreateCA loads dir/ca.pem and dir/ca.key, or creates them (ECDSA
// P-256 key, self-signed, CN "dStor dev CA", 10 years, IsCA,
// KeyUsageCertSign|CRLSign, ca.key mode 0600, atomic writes) if both are
// missing; if exactly one exists, it returns an error.
func LoadOrCreateCA(dir string) (*CA, error) {
	certPath := filepath.Join(dir, caCertFile)
	keyPath := filepath.Join(dir, caKeyFile)
	haveCert, err := fileExists(certPath)
	if err != nil {
		return nil, fmt.Errorf("identity: CA: %w", err)
	}
	haveKey, err := fileExists(keyPath)
	if err != nil {
		return nil, fmt.Errorf("identity: CA: %w", err)
	}
	switch {
	case haveCert && haveKey:
		return loadCA(certPath, keyPath)
	case haveCert:
		return nil, fmt.Errorf("identity: CA: %s exists but %s is missing; restore it or remove both", certPath, keyPath)
	case haveKey:
		return nil, fmt.Errorf("identity: CA: %s exists but %s is missing; restore it or remove both", keyPath, certPath)
	}
	return createCA(certPath, keyPath)
}

// fileExists reports whether path exists.
func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

func loadCA(certPath, keyPath string) (*CA, error) {
	certData, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("identity: CA: %w", err)
	}
	block, _ := pem.Decode(certData)
	if block == nil || block.Type != pemCertificate {
		return nil, fmt.Errorf("identity: CA: %s: no CERTIFICATE PEM block", certPath)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("identity: CA: %s: %w", certPath, err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fmt.Errorf("identity: CA: %s is not a CA certificate", certPath)
	}
	keyData, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("identity: CA: %w", err)
	}
	key, err := parsePrivateKeyPEM(keyData)
	if err != nil {
		return nil, fmt.Errorf("identity: CA: %s: %w", keyPath, err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("identity: CA: %s does not match %s", keyPath, certPath)
	}
	return &CA{Cert: cert, CertPEM: encodeCertPEM(cert.Raw), key: key}, nil
}

func createCA(certPath, keyPath string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: CA: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caCommonName},
		NotBefore:             now.Add(-leafBackdate),
		NotAfter:              now.AddDate(caYears, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // issues leaf certificates only
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("identity: CA: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("identity: CA: %w", err)
	}
	keyPEM, err := marshalPrivateKeyPEM(key)
	if err != nil {
		return nil, err
	}
	certPEM := encodeCertPEM(der)
	// The key goes first: a crash between the two writes leaves a key
	// without a certificate, which LoadOrCreateCA reports instead of
	// silently replacing.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("identity: CA: write key: %w", err)
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("identity: CA: write certificate: %w", err)
	}
	return &CA{Cert: cert, CertPEM: certPEM, key: key}, nil
}

// Issue signs a certificate for pub with role and the id ID(pub): CN = id,
// URI SAN "dstor://<role>/<id>", IP SANs for hosts that parse as IPs, DNS
// SANs for the others, ExtKeyUsage ServerAuth+ClientAuth, KeyUsage
// DigitalSignature, validity 1 year (NotBefore 1 hour in the past, NotAfter
// capped at the CA's), random 128-bit serial. It returns the certificate as
// PEM. Since the id is derived from pub, it always equals ID(pub).
func (ca *CA) Issue(pub ed25519.PublicKey, role Role, hosts []string) (certPEM []byte, err error) {
	if ca == nil || ca.Cert == nil || ca.key == nil {
		return nil, errors.New("identity: issue: CA has no certificate or signing key")
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("identity: issue: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if !validRole(role) {
		return nil, fmt.Errorf("identity: issue: unknown role %q", role)
	}
	id := ID(pub)
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	notAfter := now.AddDate(leafYears, 0, 0)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: id},
		URIs:                  []*url.URL{peerURI(Peer{Role: role, ID: id})},
		NotBefore:             now.Add(-leafBackdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if h == "" {
			return nil, errors.New("identity: issue: empty host")
		}
		if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("identity: issue: %w", err)
	}
	return encodeCertPEM(der), nil
}

// NewIdentity makes a fresh ed25519 key and issues it a certificate with
// role and hosts (see Issue): an identity for a tool or test that speaks
// dstor/1 as that role without enrolling. It returns the key pair and its
// id.
func (ca *CA) NewIdentity(role Role, hosts []string) (tls.Certificate, string, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	certPEM, err := ca.Issue(pub, role, hosts)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	cert, err := KeyPair(certPEM, key)
	return cert, ID(pub), err
}

// Pool returns a new cert pool holding the CA certificate.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// LoadPool reads a PEM file of CA certificates into a new pool. It fails if
// the file holds no certificate or a certificate that does not parse.
func LoadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: load pool: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != pemCertificate {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("identity: load pool: %s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("identity: load pool: %s holds no PEM certificate", path)
	}
	return pool, nil
}

// randomSerial returns a random positive serial number of at most 128 bits.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("identity: serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func encodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der})
}
