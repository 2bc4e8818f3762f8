package gateway

import (
	"errors"
	"testing"
	"time"

	"dstor/shared/registry"
	"dstor/shared/wire"
)

func TestMembersObserve(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newMembers(func() time.Time { return now })
	m.upsert(registry.Node{ID: "a", Region: "eu", URL: "https://127.0.0.1:9001"}, false)
	miss := errors.New("probe timed out")
	ms := time.Millisecond

	state := func() nodeState {
		t.Helper()
		s, ok := m.get("a")
		if !ok {
			t.Fatal("node a is gone")
		}
		return s
	}
	if s := state(); s.up || s.addr != "127.0.0.1:9001" || s.net.String() != "127.0.0.0/24" {
		t.Fatalf("a freshly loaded node: up %v, addr %q, net %v; want down until probed, addr and /24 from its URL", s.up, s.addr, s.net)
	}
	if len(m.live()) != 0 {
		t.Fatal("a node never probed is live")
	}

	steps := []struct {
		name        string
		rtt         time.Duration
		err         error
		wantChanged bool
		wantState   string
		wantRTT     time.Duration
		wantAvail   float64
	}{
		{"first success marks up, trusted at once", 16 * ms, nil, true, "up", 16 * ms, 1},
		{"the RTT is an EWMA of the connection's estimates", 26 * ms, nil, false, "up", 19 * ms, 1},
		{"one miss makes it suspect, availability dips a little", 0, miss, true, "suspect", 19 * ms, 0.95},
		{"a success clears suspicion", 9 * ms, nil, true, "up", 16 * ms, 0.96},
		{"one miss again", 0, miss, true, "suspect", 16 * ms, 0.912},
		{"two misses in a row mark down, availability drops", 0, miss, true, "down", 16 * ms, 0.3},
		{"further misses change only availability", 0, miss, false, "down", 16 * ms, 0.285},
		{"a success marks up again, availability climbs back slowly", 16 * ms, nil, true, "up", 16 * ms, 0.428},
	}
	for _, st := range steps {
		now = now.Add(time.Second)
		status := wire.Status{ID: "a", Blobs: int64(st.rtt)}
		changed := m.observe("a", wire.RTT{Smoothed: st.rtt, Deviation: st.rtt / 4}, status, st.err)
		s := state()
		if changed != st.wantChanged || s.state() != st.wantState || s.rtt.Smoothed != st.wantRTT || abs(s.avail-st.wantAvail) > 1e-9 {
			t.Fatalf("%s: changed %v state %s rtt %v avail %v; want %v %s %v %v",
				st.name, changed, s.state(), s.rtt.Smoothed, s.avail, st.wantChanged, st.wantState, st.wantRTT, st.wantAvail)
		}
		if st.err == nil && (!s.seen.Equal(now) || s.status.Blobs != status.Blobs) {
			t.Errorf("%s: seen %v status %+v, want %v %+v", st.name, s.seen, s.status, now, status)
		}
		if got := len(m.live()); got != map[bool]int{true: 1}[st.wantState != "down"] {
			t.Errorf("%s: %d live nodes", st.name, got)
		}
	}

	before := state().avail
	m.request("a", false)
	if got := state().avail; abs(got-(before-requestWeight*before)) > 1e-9 {
		t.Errorf("a failed request: availability %v -> %v, want a step of %v toward 0", before, got, requestWeight)
	}

	if m.observe("unknown", wire.RTT{Smoothed: ms}, wire.Status{}, nil) {
		t.Error("observing an unknown node reported a change")
	}
	m.upsert(registry.Node{ID: "b", Region: "us", URL: "https://127.0.0.1:9002"}, true)
	if live := m.live(); len(live) != 2 || live[1].ID != "b" || !live[1].seen.Equal(now) || live[1].avail != 1 {
		t.Errorf("a node upserted as up is not live now: %+v", live)
	}
	m.upsert(registry.Node{ID: "c", URL: "://bad"}, true)
	if len(m.all()) != 2 {
		t.Error("a node with an unparseable URL was added")
	}
}

func TestRegionRTT(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newMembers(func() time.Time { return now })
	for i, n := range []registry.Node{
		{ID: "eu1", Region: "eu", URL: "https://127.0.0.1:1"},
		{ID: "eu2", Region: "eu", URL: "https://127.0.0.1:2"},
		{ID: "us1", Region: "us", URL: "https://127.0.0.1:3"},
		{ID: "ap1", Region: "ap", URL: "https://127.0.0.1:4"},
	} {
		_ = i
		m.upsert(n, true)
	}
	peer := func(id, region string, rttMS float64) wire.PeerRTT {
		return wire.PeerRTT{ID: id, Region: region, RTTms: rttMS}
	}
	m.observe("eu1", wire.RTT{}, wire.Status{Peers: []wire.PeerRTT{peer("us1", "us", 80), peer("ap1", "ap", 200), peer("eu2", "eu", 1)}}, nil)
	m.observe("eu2", wire.RTT{}, wire.Status{Peers: []wire.PeerRTT{peer("us1", "us", 90)}}, nil)
	m.observe("us1", wire.RTT{}, wire.Status{Peers: []wire.PeerRTT{peer("eu2", "eu", 500)}}, nil) // one slow sample
	m.observe("ap1", wire.RTT{}, wire.Status{Peers: []wire.PeerRTT{peer("us1", "us", 150)}}, nil)

	got := m.regionRTT()
	tests := []struct {
		a, b string
		want time.Duration
	}{
		{"eu", "us", 90 * time.Millisecond}, // median of 80, 90, 500
		{"us", "eu", 90 * time.Millisecond}, // symmetric
		{"eu", "ap", 200 * time.Millisecond},
		{"ap", "us", 150 * time.Millisecond},
	}
	for _, tt := range tests {
		if got[tt.a][tt.b] != tt.want {
			t.Errorf("regionRTT[%s][%s] = %v, want %v", tt.a, tt.b, got[tt.a][tt.b], tt.want)
		}
	}
	if d, ok := got["eu"]["eu"]; ok {
		t.Errorf("a same-region probe counts as a region distance: %v", d)
	}
	now = now.Add(peerFreshness + time.Second)
	if got := m.regionRTT(); len(got) != 0 {
		t.Errorf("stale samples still count: %v", got)
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestSamplePeers(t *testing.T) {
	node := func(id, region string, up bool) nodeState {
		return nodeState{Node: registry.Node{ID: id, Region: region, URL: "https://" + id}, up: up}
	}
	all := []nodeState{
		node("a1", "a", true), node("a2", "a", true), node("a3", "a", false),
		node("b1", "b", true), node("b2", "b", true),
		node("c1", "c", true), node("d1", "d", false), node("e1", "e", true),
	}
	cases := []struct {
		name       string
		k          int
		wantLen    int
		wantOwn    bool
		wantOthers int
	}{
		{"k=1: one other region", 1, 1, false, 1},
		{"k=2: one other region and its own", 2, 2, true, 1},
		{"k=4: three other regions and its own", 4, 4, true, 3},
		{"k=10: every live region once", 10, 4, true, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 50 { // random picks: check the rules every time
				got := samplePeers(all, 0, c.k)
				own, regions := 0, map[string]bool{}
				for _, h := range got {
					switch {
					case h.ID == "a1":
						t.Fatalf("%v: picked itself", got)
					case h.ID == "a3" || h.ID == "d1":
						t.Fatalf("%v: picked a down node", got)
					case h.Region == "a":
						own++
					case regions[h.Region]:
						t.Fatalf("%v: region %s twice", got, h.Region)
					default:
						regions[h.Region] = true
					}
				}
				if len(got) != c.wantLen || (own == 1) != c.wantOwn || len(regions) != c.wantOthers {
					t.Fatalf("%v: %d peers, %d of its own region, %d other regions; want %d, own %v, %d", got, len(got), own, len(regions), c.wantLen, c.wantOwn, c.wantOthers)
				}
			}
		})
	}
}
