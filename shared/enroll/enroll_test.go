package enroll

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dstor/shared/api"
	"dstor/shared/identity"
)

// gateway is an enrollment endpoint that issues certificates from a real
// CA, after failing the first fail5xx attempts with 503; reject answers
// 403 instead, and lie enrolls another id.
func gateway(t *testing.T, fail5xx int32, reject, lie bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	ca, err := identity.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= fail5xx {
			http.Error(w, `{"error":"registry busy"}`, http.StatusServiceUnavailable)
			return
		}
		if reject {
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(api.Error{Error: "bad enrollment token"})
			return
		}
		var req api.EnrollRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		pub := ed25519.PublicKey(req.PublicKey)
		if lie {
			pub, _, _ = ed25519.GenerateKey(rand.Reader)
		}
		cert, err := ca.Issue(pub, identity.RoleNode, []string{"127.0.0.1"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(api.EnrollResponse{ID: identity.ID(pub), Cert: string(cert)})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestDo(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		fail5xx   int32
		reject    bool
		lie       bool
		wantErr   string
		wantCalls int32
	}{
		{"issued", 0, false, false, "", 1},
		{"5xx is retried", 2, false, false, "", 3},
		{"4xx is final", 0, true, false, "bad enrollment token", 1},
		{"another id is refused", 0, false, true, "ours is", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, calls := gateway(t, c.fail5xx, c.reject, c.lie)
			pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cert, err := Do(ctx, Request{
				URL: srv.URL + "/v1/nodes/enroll", Pool: pool, Key: key,
				Body: api.EnrollRequest{Token: "t", PublicKey: key.Public().(ed25519.PublicKey), Region: "r"},
				Log:  slog.New(slog.DiscardHandler),
			})
			if c.wantErr == "" && (err != nil || cert.Leaf == nil && len(cert.Certificate) == 0) {
				t.Fatalf("Do = %v, want a certificate", err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("Do = %v, want an error saying %q", err, c.wantErr)
			}
			if got := calls.Load(); got != c.wantCalls {
				t.Errorf("%d attempts, want %d", got, c.wantCalls)
			}
		})
	}
	t.Run("gives up when ctx ends", func(t *testing.T) {
		srv, _ := gateway(t, 1<<30, false, false)
		pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if _, err := Do(ctx, Request{URL: srv.URL, Pool: pool, Key: key, Body: struct{}{}, Log: slog.New(slog.DiscardHandler)}); err == nil {
			t.Fatal("Do succeeded against a gateway that never issues")
		}
	})
}

func TestReadToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "enroll-token")
	if err := os.WriteFile(path, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadToken(path); err != nil || got != "s3cret" {
		t.Fatalf("ReadToken = %q, %v; want s3cret", got, err)
	}
	if _, err := ReadToken(path + ".missing"); err == nil {
		t.Fatal("ReadToken of a missing file succeeded")
	}
}
