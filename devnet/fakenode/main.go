// Command fakenode is a storage node that cheats, for the auditor's
// process tests (devnet/cluster). It enrolls with the gateway like any
// node, answers probes (draining, so no blob is placed on it) and answers
// the auditor's challenges for one blob in the way -mode names:
//
//   - relay: it keeps only the blob's outboard and, challenged, fetches
//     the challenged groups from the holder -from, then answers correctly.
//   - one of adversary.Forgeries: it keeps the whole blob (and, for
//     other-blob, the -other blob of the same size) and answers with that
//     forgery, or honestly for "honest".
//
// It reads from -from as a node. It writes the file "ready" in -dir once
// it holds what it needs; the test then lists it as a holder in the
// registry. It is never part of a real network.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"dstor/devnet/adversary"
	"dstor/shared/api"
	"dstor/shared/cid"
	"dstor/shared/enroll"
	"dstor/shared/identity"
	"dstor/shared/serve"
	"dstor/shared/wire"
)

func main() {
	var (
		dir       = flag.String("dir", "", "state directory (the node's key)")
		listen    = flag.String("listen", "127.0.0.1:0", "UDP and TCP host:port")
		advertise = flag.String("advertise", "", "host the auditor and gateway dial (default: the listen host)")
		region    = flag.String("region", "", "the node's region")
		gateway   = flag.String("gateway", "https://127.0.0.1:8443", "gateway base URL")
		caFile    = flag.String("ca", "", "PEM file of the network's CA")
		tokenFile = flag.String("enroll-token-file", "", "file holding the enrollment token")
		mode      = flag.String("mode", "", "relay, or a forgery: "+strings.Join(adversary.Forgeries, ", "))
		blob      = flag.String("blob", "", "CID of the blob it claims to hold")
		other     = flag.String("other", "", "CID of another blob of the same size (mode other-blob)")
		from      = flag.String("from", "", "a holder of the blobs, as id@host:port")
	)
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("daemon", "fakenode", "mode", *mode)
	if err := run(log, *dir, *listen, *advertise, *region, *gateway, *caFile, *tokenFile, *mode, *blob, *other, *from); err != nil {
		fmt.Fprintln(os.Stderr, "fakenode:", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, dir, listen, advertise, region, gateway, caFile, tokenFile, mode, blob, other, from string) error {
	if dir == "" || region == "" || mode == "" || blob == "" || from == "" {
		return errors.New("-dir, -region, -mode, -blob and -from are required")
	}
	id, err := cid.Parse(blob)
	if err != nil {
		return fmt.Errorf("-blob: %w", err)
	}
	src, err := parseHolder(from)
	if err != nil {
		return err
	}
	token, err := enroll.ReadToken(tokenFile)
	if err != nil {
		return err
	}
	pool, err := identity.LoadPool(caFile)
	if err != nil {
		return err
	}
	key, err := identity.LoadOrCreateKey(filepath.Join(dir, "node.key"))
	if err != nil {
		return err
	}
	self := identity.ID(key.Public().(ed25519.PublicKey))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var answer atomic.Pointer[adversary.Func] // set before "ready" is written
	srv := &serve.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "a fake node serves no reads", http.StatusServiceUnavailable)
		}),
		Wire: wire.Mux{
			wire.OpPing: func(req *wire.Request) error {
				_, err := req.Reply(wire.Status{ID: self, Region: region, Draining: true})
				return err
			},
			wire.OpChallenge: func(req *wire.Request) error {
				var cr wire.ChallengeRequest
				if err := req.Decode(&cr); err != nil {
					return wire.Errorf(wire.CodeBadRequest, "bad challenge: %v", err)
				}
				f := answer.Load()
				if f == nil || cr.CID != id {
					return wire.Errorf(wire.CodeNotFound, "no blob %s", cr.CID)
				}
				return (*f)(self, req, cr)
			},
		},
		Pool:   pool,
		Logger: log,
	}
	if err := srv.Listen(listen); err != nil {
		return err
	}
	listenHost, _, _ := net.SplitHostPort(listen)
	host := listenHost
	if advertise != "" {
		host = advertise
	}
	if srv.Cert, err = enroll.Do(ctx, enroll.Request{
		URL:  gateway + "/v1/nodes/enroll",
		Pool: pool,
		Key:  key,
		Body: api.EnrollRequest{
			Token:     token,
			PublicKey: key.Public().(ed25519.PublicKey),
			Region:    region,
			URL:       "https://" + net.JoinHostPort(host, strconv.Itoa(srv.Port())),
		},
		Log: log,
	}); err != nil {
		srv.Close()
		return err
	}
	client := wire.NewClient(srv.Cert, pool)
	if ip, err := netip.ParseAddr(listenHost); err == nil && !ip.IsUnspecified() {
		// Send from the listen IP: on a loopback cluster behind latency
		// proxies, that is what tells the proxies where this node is.
		client.LocalIP = ip
	}
	defer client.Close()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	f, err := prepare(fctx, client, src, id, other, mode)
	cancel()
	if err != nil {
		stop()
		<-served
		return err
	}
	answer.Store(&f)
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(self+"\n"), 0o600); err != nil {
		stop()
		<-served
		return err
	}
	log.Info("fake node serving", "id", self, "blob", id, "from", src.Peer.ID)
	return <-served
}

// prepare fetches what mode keeps of blob id from src, and returns how
// it answers.
func prepare(ctx context.Context, c *wire.Client, src wire.Target, id cid.CID, other, mode string) (adversary.Func, error) {
	if mode == "relay" {
		body, err := c.Get(ctx, src, id, 0, 1) // its first byte tells its size
		if err != nil {
			return nil, err
		}
		body.Close()
		ob, err := adversary.FetchOutboard(ctx, c, src, id)
		if err != nil {
			return nil, err
		}
		return adversary.Relay(c, src, body.Size, ob), nil
	}
	b, err := adversary.Fetch(ctx, c, src, id)
	if err != nil {
		return nil, err
	}
	var ob *adversary.Blob
	if other != "" {
		oid, err := cid.Parse(other)
		if err != nil {
			return nil, fmt.Errorf("-other: %w", err)
		}
		if ob, err = adversary.Fetch(ctx, c, src, oid); err != nil {
			return nil, err
		}
	}
	return adversary.Forge(mode, b, ob, src.Peer.ID)
}

// parseHolder reads id@host:port.
func parseHolder(s string) (wire.Target, error) {
	id, addr, ok := strings.Cut(s, "@")
	if !ok || id == "" || addr == "" {
		return wire.Target{}, fmt.Errorf("-from %q: want id@host:port", s)
	}
	return wire.Target{Addr: addr, Peer: identity.Peer{Role: identity.RoleNode, ID: id}}, nil
}
