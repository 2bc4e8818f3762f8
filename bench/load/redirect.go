package load

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"dstor/shared/api"
	"dstor/shared/cid"
)

// redirectCIDs is how many distinct blobs the many-CID redirect run
// spreads its reads over.
const redirectCIDs = 1000

// bareRedirect is the bare server's GET /ipfs/{cid}: a fixed 307 with the
// headers the gateway's redirect carries (see gatewayd/gateway/read.go),
// values of the same length, computed once.
func bareRedirect() http.HandlerFunc {
	fixed := http.Header{
		"Location":              {"https://127.0.0.1:40000/ipfs/bafkr4ihxmoxbfwvs2agu52wkx44gvv4atu7esrcbcckpmxdokwykkmhuzi"},
		"X-Dstor-Node":          {"abcdefghijklmnopqrstuvwxyz"},
		"X-Dstor-Region":        {"eu-west"},
		"X-Dstor-Score":         {"0.9500"},
		"X-Dstor-Client-Region": {"eu-west;default"},
		"Cache-Control":         {"no-store"},
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range fixed {
			h[k] = v
		}
		w.WriteHeader(http.StatusTemporaryRedirect)
	}
}

// gatewayRuns is what the gateway measurements keep between rounds.
type gatewayRuns struct {
	cids   []cid.CID // the many-CID redirect run's blobs
	blob   []byte    // the ingest buffer, refilled with new bytes each round
	warmed bool      // the gateway has taken one ingest warm-up
}

// redirectTarget is a server answering GET /ipfs/{cid} with 307.
type redirectTarget struct {
	name          string
	pool          *x509.CertPool
	pid           int
	urls          []string // client w's k-th request reads urls[(w+k*clients) % len]
	rps, p50, p99 string   // figure keys
	observe       func(ctx context.Context) func() string
}

// measureRedirect is issue 4's redirect rate: Concurrency closed-loop
// clients over Conns connections (the cached 4 KiB setup) GET /ipfs/<cid>
// without following the answer, each answer checked to be a 307 with a
// Location over HTTP/3. In each round: the bare http3 server's fixed 307,
// then the gateway for one CID (its pin cache answers), then for
// redirectCIDs distinct CIDs.
func measureRedirect(ctx context.Context, s *suite) error {
	if s.bare == nil {
		b, err := startBare(ctx, s)
		if err != nil {
			return err
		}
		s.bare = b
		s.setup("bare http3 server: " + serverUDPBuffers(b.port) + " UDP buffers")
	}
	e, err := s.env(ctx)
	if err != nil {
		return err
	}
	if !e.smallBlob.Defined() {
		if e.smallBlob, err = e.upload(ctx, int64(s.cfg.SmallSize)); err != nil {
			return err
		}
	}
	if _, err := e.settled(ctx, e.smallBlob, time.Minute); err != nil {
		return err
	}
	if s.gw.cids == nil {
		if s.gw.cids, err = e.uploadMany(ctx, redirectCIDs, s.cfg.SmallSize, s.cfg.Concurrency, s.cfg.Conns); err != nil {
			return err
		}
	}
	path := "/ipfs/" + e.smallBlob.String()
	err = s.redirectFigures(ctx, redirectTarget{
		name: "bare http3 307", pool: s.bare.cert.pool, pid: s.bare.proc.pid(), urls: []string{s.bare.url + path},
		rps: keyBareRedirectRPS, p50: keyBareRedirectP50, p99: keyBareRedirectP99,
	})
	if err != nil {
		return err
	}
	gw := e.c.Gateway.Pid()
	err = s.redirectFigures(ctx, redirectTarget{
		name: "dStor gateway 307", pool: e.pool, pid: gw, urls: []string{e.c.Env.Gateway + path},
		rps: keyRedirectRPS, p50: keyRedirectP50, p99: keyRedirectP99, observe: e.redirectObserver,
	})
	if err != nil {
		return err
	}
	urls := make([]string, len(s.gw.cids))
	for i, id := range s.gw.cids {
		urls[i] = e.c.Env.Gateway + "/ipfs/" + id.String()
	}
	return s.redirectFigures(ctx, redirectTarget{
		name: fmt.Sprintf("dStor gateway 307 over %s CIDs", thousands(float64(len(urls)))), pool: e.pool, pid: gw, urls: urls,
		rps: keyRedirectManyRPS, p50: keyRedirectManyP50, p99: keyRedirectManyP99, observe: e.redirectObserver,
	})
}

// redirectFigures loads t as smallFigures loads a small body: Warmup,
// then Duration measured.
func (s *suite) redirectFigures(ctx context.Context, t redirectTarget) error {
	cl, err := newClient(t.pool, s.cfg.Conns)
	if err != nil {
		return err
	}
	defer cl.Close()
	s.quiet(ctx)
	if _, err := redirectLoad(ctx, cl, t.urls, s.cfg.Concurrency, s.cfg.Warmup); err != nil {
		return fmt.Errorf("%s warm-up: %w", t.name, err)
	}
	s.clientSetup(cl)
	cpu, obs := startCPU(t.pid), func() string { return "" }
	if t.observe != nil {
		obs = t.observe(ctx)
	}
	r, err := redirectLoad(ctx, cl, t.urls, s.cfg.Concurrency, s.cfg.Duration)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	s.add(Figure{
		Key: t.rps, Name: fmt.Sprintf("%s, %d clients", t.name, s.cfg.Concurrency), Unit: ReqPS, Value: r.perSec(),
		Note: joinNotes(fmt.Sprintf("%d redirects over %d conns, not followed", r.ops, s.cfg.Conns), cpu.note(s.cfg.Duration), obs()),
	})
	s.add(Figure{Key: t.p50, Name: t.name + " p50", Unit: Millis, Value: millis(r.p50)})
	s.add(Figure{Key: t.p99, Name: t.name + " p99", Unit: Millis, Value: millis(r.p99)})
	return nil
}

// redirectLoad has workers closed-loop clients GET urls for dur, client
// w over connection w mod Conns of cl.
func redirectLoad(ctx context.Context, cl *Client, urls []string, workers int, dur time.Duration) (rate, error) {
	sent := make([]int, workers)
	return closedLoop(ctx, workers, dur, func(ctx context.Context, w int) error {
		u := urls[(w+sent[w]*workers)%len(urls)]
		sent[w]++
		return redirected(ctx, cl.HTTP(w), u)
	})
}

// redirected GETs url and checks the answer is a 307 with a Location,
// over HTTP/3.
func redirected(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := expect(resp, http.StatusTemporaryRedirect); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.Header.Get("Location") == "" {
		return fmt.Errorf("GET %s: 307 without Location", url)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// redirectObserver notes what the gateway counted over a run: the
// redirects (dstor_gateway_redirects_total) and the reads it could not
// serve.
func (e *dstorEnv) redirectObserver(ctx context.Context) func() string {
	before, err := e.gatewayCounters(ctx)
	return func() string {
		if err != nil {
			return "gateway metrics: " + err.Error()
		}
		after, err := e.gatewayCounters(ctx)
		if err != nil {
			return "gateway metrics: " + err.Error()
		}
		d := func(name string) int64 { return int64(after[name] - before[name]) }
		return fmt.Sprintf("gateway counted %d redirects, %d unserved", d("dstor_gateway_redirects_total"), d("dstor_gateway_reads_unserved_total"))
	}
}

// uploadMany uploads n new blobs of size bytes through the gateway with
// workers writers over conns connections, waits until each is done
// replicating, and returns their CIDs.
func (e *dstorEnv) uploadMany(ctx context.Context, n, size, workers, conns int) ([]cid.CID, error) {
	start := time.Now()
	bodies := make([][]byte, n)
	for i := range bodies {
		e.seed++
		bodies[i] = make([]byte, size)
		randomReader(e.seed).Read(bodies[i])
	}
	cl, err := newClient(e.pool, conns)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ids := make([]cid.CID, n)
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				req, err := http.NewRequestWithContext(gctx, http.MethodPost, e.c.Env.Gateway+"/v1/blobs", bytes.NewReader(bodies[i]))
				if err != nil {
					return err
				}
				req.Header.Set("Authorization", "Bearer "+e.c.Env.APIKey)
				resp, err := cl.HTTP(w).Do(req)
				if err != nil {
					return err
				}
				var br api.BlobResponse
				err = expect(resp, http.StatusCreated)
				if err == nil {
					err = json.NewDecoder(resp.Body).Decode(&br)
				}
				resp.Body.Close()
				if err != nil {
					return fmt.Errorf("upload: %w", err)
				}
				if ids[i], err = cid.Parse(br.CID); err != nil {
					return err
				}
				if _, err := e.settled(gctx, ids[i], 2*time.Minute); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	e.log("  uploaded %d blobs of %s, each replicated, in %s", n, sizeName(int64(size)), time.Since(start).Round(time.Millisecond))
	return ids, nil
}
