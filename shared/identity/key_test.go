package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	t.Run("create then reload", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state", "keys")
		path := filepath.Join(dir, "node.key")
		created, err := LoadOrCreateKey(path)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("key mode = %o, want 600", mode)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if mode := di.Mode().Perm(); mode != 0o700 {
			t.Errorf("dir mode = %o, want 700", mode)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Errorf("dir holds %d entries (temp file left?), want 1", len(entries))
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----") {
			t.Errorf("key file is not a PKCS#8 PEM: %q", data)
		}
		reloaded, err := LoadOrCreateKey(path)
		if err != nil {
			t.Fatalf("reload: %v", err)
		}
		if !created.Equal(reloaded) {
			t.Error("reloaded key differs from created key")
		}
	})

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM, err := marshalPrivateKeyPEM(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"not PEM", []byte("garbage"), "no PEM block"},
		{"empty file", nil, "no PEM block"},
		{"wrong PEM type", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "CERTIFICATE"},
		{"corrupt PKCS#8", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "asn1"},
		{"ecdsa key", ecPEM, "not an ed25519 key"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.key")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateKey(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(tt.data) {
				t.Error("corrupt key file was overwritten")
			}
		})
	}

	t.Run("unreadable path", func(t *testing.T) {
		// A directory where the key file should be is a read error, not
		// "missing", so no key may be created.
		path := t.TempDir()
		if _, err := LoadOrCreateKey(path); err == nil {
			t.Fatal("LoadOrCreateKey(dir) succeeded, want error")
		}
	})
}
