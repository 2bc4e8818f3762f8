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
	m := newMembers(time.Second, func() time.Time { return now })
	m.upsert(registry.Node{ID: "a", Region: "eu", URL: "https://127.0.0.1:9001"}, false)
	miss := errors.New("probe timed out")
	ms := time.Millisecond

	state := func() nodeState {
		t.Helper()
		all := m.all()
		if len(all) != 1 {
			t.Fatalf("%d nodes, want 1", len(all))
		}
		return all[0]
	}
	if s := state(); s.up || s.addr != "127.0.0.1:9001" {
		t.Fatalf("a freshly loaded node: up %v, addr %q; want down until probed, addr from its URL", s.up, s.addr)
	}
	if len(m.live()) != 0 {
		t.Fatal("a node never probed is live")
	}

	steps := []struct {
		name        string
		rtt         time.Duration
		err         error
		wantChanged bool
		wantUp      bool
		wantMisses  int
		wantRTT     time.Duration
	}{
		{"first success marks up and sets the RTT", 16 * ms, nil, true, true, 0, 16 * ms},
		{"a second success smooths the RTT by 1/8", 24 * ms, nil, false, true, 0, 17 * ms},
		{"one miss keeps it up", 0, miss, false, true, 1, 17 * ms},
		{"a success resets the misses", 9 * ms, nil, false, true, 0, 16 * ms},
		{"one miss again", 0, miss, false, true, 1, 16 * ms},
		{"two misses in a row mark down", 0, miss, true, false, 2, 16 * ms},
		{"further misses change nothing", 0, miss, false, false, 3, 16 * ms},
		{"a success marks up again", 32 * ms, nil, true, true, 0, 18 * ms},
	}
	for _, st := range steps {
		now = now.Add(time.Second)
		status := wire.Status{ID: "a", Blobs: int64(st.rtt)}
		changed := m.observe("a", st.rtt, status, st.err)
		s := state()
		if changed != st.wantChanged || s.up != st.wantUp || s.misses != st.wantMisses || s.rtt != st.wantRTT {
			t.Fatalf("%s: changed %v up %v misses %d rtt %v; want %v %v %d %v",
				st.name, changed, s.up, s.misses, s.rtt, st.wantChanged, st.wantUp, st.wantMisses, st.wantRTT)
		}
		if st.err == nil && (!s.seen.Equal(now) || s.status != status) {
			t.Errorf("%s: seen %v status %+v, want %v %+v", st.name, s.seen, s.status, now, status)
		}
		if got := len(m.live()); got != map[bool]int{true: 1}[st.wantUp] {
			t.Errorf("%s: %d live nodes", st.name, got)
		}
	}

	if m.observe("unknown", ms, wire.Status{}, nil) {
		t.Error("observing an unknown node reported a change")
	}
	m.upsert(registry.Node{ID: "b", Region: "us", URL: "https://127.0.0.1:9002"}, true)
	if live := m.live(); len(live) != 2 || live[1].ID != "b" || !live[1].seen.Equal(now) {
		t.Errorf("a node upserted as up is not live now: %+v", live)
	}
	m.upsert(registry.Node{ID: "c", URL: "://bad"}, true)
	if len(m.all()) != 2 {
		t.Error("a node with an unparseable URL was added")
	}
}
