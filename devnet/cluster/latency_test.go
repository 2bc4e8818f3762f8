package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"dstor/shared/identity"
	"dstor/shared/latency"
)

// TestLatencyWorld runs nodes behind latency proxies in three regions and
// checks that everyone sees the map: a client (and the gateway) from
// outside, and nodes from each other by their source address.
func TestLatencyWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	const ms = time.Millisecond
	world := &latency.World{
		Outside: map[string]latency.Profile{
			"near": {Delay: 5 * ms},
			"mid":  {Delay: 40 * ms},
			"far":  {Delay: 120 * ms},
		},
		Between: map[string]map[string]latency.Profile{
			"near": {"far": {Delay: 200 * ms}},
		},
	}
	bin := buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Config{
		Bin:            bin,
		Dir:            t.TempDir(),
		Gateway:        "127.0.0.1:" + strconv.Itoa(freePort(t)),
		Regions:        []string{"near", "mid", "far"},
		NodesPerRegion: 1,
		ProbeInterval:  time.Second, // the gateway waits half of it for a probe: room for 120 ms
		Latency:        world,
		Logs:           testLog{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	pool, err := identity.LoadPool(c.Env.CA)
	if err != nil {
		t.Fatal(err)
	}
	near, mid, far := c.Nodes[0], c.Nodes[1], c.Nodes[2]

	// rttFrom measures the path from a socket on from to a node: HTTP/3
	// requests (which need no client certificate) to its proxy, then
	// QUIC's smoothed RTT.
	rttFrom := func(t *testing.T, from string, to *Proc) time.Duration {
		t.Helper()
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)})
		if err != nil {
			t.Fatal(err)
		}
		qt := &quic.Transport{Conn: udp}
		var conn *quic.Conn
		h3 := &http3.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
				c, err := qt.DialEarly(ctx, net.UDPAddrFromAddrPort(to.Proxy().Addr()), tc, qc)
				conn = c
				return c, err
			},
		}
		defer func() {
			h3.Close()
			qt.Close()
			udp.Close()
		}()
		client := &http.Client{Transport: h3, Timeout: 10 * time.Second}
		for range 3 {
			resp, err := client.Get(to.URL() + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return conn.ConnectionStats().SmoothedRTT
	}
	t.Run("paths by source", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			from string
			to   *Proc
			want time.Duration
		}{
			{"client to near", "127.0.0.1", near, 5 * ms},
			{"client to mid", "127.0.0.1", mid, 40 * ms},
			{"client to far", "127.0.0.1", far, 120 * ms},
			{"near node to far", near.IP().String(), far, 200 * ms},
			{"far node to near", far.IP().String(), near, 200 * ms},
			{"mid node to far (the larger outside)", mid.IP().String(), far, 120 * ms},
			{"near node to mid", near.IP().String(), mid, 40 * ms},
		} {
			got := rttFrom(t, tc.from, tc.to)
			// A loose band: the machine is busy with race-detector daemons.
			if got < tc.want*9/10 || got > tc.want+100*ms {
				t.Errorf("%s: RTT %v, want about %v", tc.name, got, tc.want)
			} else {
				t.Logf("%s: RTT %v, want %v", tc.name, got, tc.want)
			}
		}
	})

	t.Run("gateway sees the map", func(t *testing.T) {
		ids := make([]string, 3)
		for i, p := range []*Proc{near, mid, far} {
			if ids[i], err = p.ID(); err != nil {
				t.Fatal(err)
			}
		}
		var rtts [3]float64
		err := c.poll(ctx, 15*time.Second, func() error {
			ns, err := c.NodesView()
			if err != nil {
				return err
			}
			for _, n := range ns {
				for i, id := range ids {
					if n.ID == id {
						rtts[i] = n.RTTms
					}
				}
			}
			if !(rtts[0] > 0 && rtts[0] < rtts[1] && rtts[1] < rtts[2] && rtts[2] >= 100) {
				return errorf("rtt_ms near %.1f mid %.1f far %.1f", rtts[0], rtts[1], rtts[2])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("gateway rtt_ms: near %.1f, mid %.1f, far %.1f", rtts[0], rtts[1], rtts[2])
	})

	var blob string
	var blobData []byte
	t.Run("reads cross the proxies", func(t *testing.T) {
		hc, _ := c.HTTPClient()
		e := &e2e{t: t, c: c, hc: hc}
		data := bytes.Repeat([]byte("map of the world "), 4096)
		resp, br := e.upload(bytes.NewReader(data), c.Env.APIKey)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("upload: %s", resp.Status)
		}
		blob, blobData = br.CID, data
		// HTTPS (TCP) and HTTP/3 (UDP) to the far node, through its proxy.
		h3 := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		defer h3.Close()
		for name, client := range map[string]*http.Client{"https": hc, "http3": {Transport: h3, Timeout: 10 * time.Second}} {
			start := time.Now()
			resp, err := client.Get(far.URL() + "/ipfs/" + br.CID)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("%s: %s, %d bytes", name, resp.Status, len(body))
			}
			if took := time.Since(start); took < 108*ms {
				t.Errorf("%s read from the far node took %v, less than its RTT", name, took)
			}
		}
	})

	t.Run("pause and resume", func(t *testing.T) {
		state := func() string {
			id, _ := mid.ID()
			ns, _ := c.NodesView()
			for _, n := range ns {
				if n.ID == id {
					return n.State
				}
			}
			return "missing"
		}
		if err := c.Pause(1); err != nil {
			t.Fatal(err)
		}
		if err := c.poll(ctx, 10*time.Second, func() error {
			if s := state(); s == "up" {
				return errorf("paused node still %s", s)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := c.Resume(1); err != nil {
			t.Fatal(err)
		}
		if err := c.poll(ctx, 15*time.Second, func() error {
			if s := state(); s != "up" {
				return errorf("resumed node %s", s)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("add node", func(t *testing.T) {
		// Record who talks to the first three nodes from now on.
		seen := make(chan netip.Addr, 1000)
		for _, p := range c.Nodes[:3] {
			route := world.Route(p.Region, c.world.regionOf)
			p.Proxy().SetRoute(func(src netip.AddrPort) (latency.Profile, bool) {
				select {
				case seen <- src.Addr():
				default:
				}
				return route(src)
			})
		}
		p, err := c.AddNode(ctx, "far")
		if err != nil {
			t.Fatal(err)
		}
		if p.URL() != "https://"+p.Proxy().Addr().String() {
			t.Fatalf("new node's URL %q, its proxy %s", p.URL(), p.Proxy().Addr())
		}
		if got := rttFrom(t, "127.0.0.1", p); got < 108*ms {
			t.Fatalf("new far node: RTT %v", got)
		}
		if blob == "" {
			t.Skip("no blob uploaded")
		}
		// The new node lacks the blob: it fetches it from a holder, from
		// its own address, through the holder's proxy.
		hc, _ := c.HTTPClient()
		resp, err := hc.Get(p.URL() + "/ipfs/" + blob)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, blobData) {
			t.Fatalf("read from the new node: %s, %d bytes", resp.Status, len(body))
		}
		for {
			select {
			case a := <-seen:
				if a == p.IP() {
					return
				}
				continue
			default:
			}
			break
		}
		t.Fatalf("no holder's proxy saw a packet from the new node's address %s", p.IP())
	})

	t.Run("kill", func(t *testing.T) {
		if err := c.Kill(3); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitNodes(ctx, 3); err != nil {
			t.Fatal(err)
		}
	})
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
