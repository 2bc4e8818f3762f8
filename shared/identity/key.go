package identity

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	pemPrivateKey  = "PRIVATE KEY"
	pemCertificate = "CERTIFICATE"
)

// LoadOrCreateKey reads a PKCS#8 PEM ed25519 private key from path, or
// creates one (file mode 0600, written atomically: temp file + fsync +
// rename, parent dir created 0700) if the file does not exist.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		signer, err := parsePrivateKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("identity: key %s: %w", path, err)
		}
		key, ok := signer.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("identity: key %s: %T is not an ed25519 key", path, signer)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("identity: read key: %w", err)
	}

	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: generate key: %w", err)
	}
	keyPEM, err := marshalPrivateKeyPEM(key)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("identity: write key: %w", err)
	}
	return key, nil
}

// parsePrivateKeyPEM parses the first PEM block of data as a PKCS#8
// private key.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != pemPrivateKey {
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, pemPrivateKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%T is not a signing key", k)
	}
	return signer, nil
}

// marshalPrivateKeyPEM encodes key as a PKCS#8 PEM block.
func marshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("identity: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// writeFileAtomic writes data to path with mode perm so that readers see
// either the old file or the complete new one: it writes a temp file in the
// same directory, fsyncs it, renames it over path and fsyncs the directory.
// The directory is created with mode 0700 if missing.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename durable; not every platform can fsync a directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
