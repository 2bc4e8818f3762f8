package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"dstor/shared/registry"
)

// newSecret returns a random secret with a readable prefix.
func newSecret(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// hashSecret is how API keys and tokens are stored: only their SHA-256.
func hashSecret(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// bootstrap registers the configured API key and enrollment token,
// creating the files with fresh secrets when they do not exist yet.
func (g *Gateway) bootstrap(ctx context.Context) error {
	if g.cfg.APIKeyFile != "" {
		key, err := readOrCreateSecret(g.cfg.APIKeyFile, "dsk_")
		if err != nil {
			return err
		}
		h := hashSecret(key)
		if _, err := g.reg.AccountByKey(ctx, h); errors.Is(err, registry.ErrNotFound) {
			acct, err := g.reg.CreateAccount(ctx, "dev")
			if err != nil {
				return err
			}
			if err := g.reg.AddAPIKey(ctx, acct, h); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	if g.cfg.EnrollTokenFile != "" {
		tok, err := readOrCreateSecret(g.cfg.EnrollTokenFile, "dse_")
		if err != nil {
			return err
		}
		if err := g.reg.AddEnrollToken(ctx, hashSecret(tok)); err != nil {
			return err
		}
	}
	return nil
}

// readOrCreateSecret reads a secret file, or writes a new secret to it
// (mode 0600, atomically).
func readOrCreateSecret(path, prefix string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("gateway: %s is empty", path)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	s := newSecret(prefix)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return s, nil
}
