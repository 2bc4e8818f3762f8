package testnet

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"dstor/auditd/audit"
	"dstor/shared/api"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/registry"
)

// do sends method path to the gateway with API key key (none if empty)
// and returns the status, decoding a JSON answer into v if not nil.
func (n *Net) do(t *testing.T, method, path, key string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, n.GatewayURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := n.https.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// TestUnpin: an account lists its pins, unpins one, and once the unpin
// grace has passed auditd deletes the copies of a blob no account pins;
// a blob uploaded again after its unpin keeps its copies, even when a
// delete ordered from a stale view reaches a node.
func TestUnpin(t *testing.T) {
	n := Start(t, Options{Regions: []string{"r1", "r2", "r3"}, NodesPerRegion: 1, Writes: 3, CacheBytes: -1})
	ctx := context.Background()
	a := n.StartAuditor(t, "auditor", func(c *audit.Config) { c.UnpinGrace = time.Nanosecond })
	gone, kept, again := blob(601, 70<<10), blob(602, 5), blob(603, 20<<10)
	idGone, idKept, idAgain := MustParse(t, n.Upload(t, gone).CID), MustParse(t, n.Upload(t, kept).CID), MustParse(t, n.Upload(t, again).CID)
	for _, id := range []string{idGone.String(), idKept.String(), idAgain.String()} {
		n.WaitPin(t, id, 30*time.Second, registry.StatusPinned)
	}

	t.Run("list", func(t *testing.T) {
		var all api.PinsResponse
		if code := n.do(t, http.MethodGet, "/v1/pins", n.APIKey, &all); code != http.StatusOK || len(all.Pins) != 3 || all.Next != "" {
			t.Fatalf("GET /v1/pins: %d %+v", code, all)
		}
		var cids []string
		for _, p := range all.Pins {
			cids = append(cids, p.CID)
			if p.PinnedAt == "" || p.Status != registry.StatusPinned {
				t.Errorf("pin %+v", p)
			}
		}
		if !slices.IsSorted(cids) {
			t.Errorf("pins not by cid: %v", cids)
		}
		var page api.PinsResponse
		if code := n.do(t, http.MethodGet, "/v1/pins?limit=2", n.APIKey, &page); code != http.StatusOK || len(page.Pins) != 2 || page.Next != cids[1] {
			t.Fatalf("first page: %d %+v", code, page)
		}
		var last api.PinsResponse
		if code := n.do(t, http.MethodGet, "/v1/pins?limit=2&after="+page.Next, n.APIKey, &last); code != http.StatusOK || len(last.Pins) != 1 || last.Pins[0].CID != cids[2] || last.Next != "" {
			t.Fatalf("second page: %d %+v", code, last)
		}
		for path, want := range map[string]int{
			"/v1/pins?limit=0":         http.StatusBadRequest,
			"/v1/pins?limit=x":         http.StatusBadRequest,
			"/v1/pins?after=not-a-cid": http.StatusBadRequest,
		} {
			if code := n.do(t, http.MethodGet, path, n.APIKey, nil); code != want {
				t.Errorf("GET %s: %d, want %d", path, code, want)
			}
		}
		if code := n.do(t, http.MethodGet, "/v1/pins", "", nil); code != http.StatusUnauthorized {
			t.Errorf("GET /v1/pins without a key: %d, want 401", code)
		}
	})

	t.Run("bad unpins change nothing", func(t *testing.T) {
		for _, c := range []struct {
			path, key string
			want      int
		}{
			{"/v1/pins/" + idGone.String(), "", http.StatusUnauthorized},
			{"/v1/pins/" + idGone.String(), "wrong-key", http.StatusUnauthorized},
			{"/v1/pins/not-a-cid", n.APIKey, http.StatusBadRequest},
			{"/v1/pins/" + cid.Sum(blob(604, 10)).String(), n.APIKey, http.StatusNotFound},
		} {
			if code := n.do(t, http.MethodDelete, c.path, c.key, nil); code != c.want {
				t.Errorf("DELETE %s (key %q): %d, want %d", c.path, c.key, code, c.want)
			}
		}
		if pr := n.Pin(t, idGone.String()); pr.Pinned != 3 {
			t.Fatalf("after bad unpins: %+v", pr)
		}
	})

	holders, _ := n.Holders(t, idGone.String())
	unpinned := time.Now()
	t.Run("unpin", func(t *testing.T) {
		for _, id := range []string{idGone.String(), idAgain.String()} {
			var ur api.UnpinResponse
			if code := n.do(t, http.MethodDelete, "/v1/pins/"+id, n.APIKey, &ur); code != http.StatusOK || !ur.Unpinned || ur.PinnedByOthers {
				t.Fatalf("DELETE /v1/pins/%s: %d %+v", id, code, ur)
			}
			if code := n.do(t, http.MethodDelete, "/v1/pins/"+id, n.APIKey, nil); code != http.StatusNotFound {
				t.Errorf("DELETE again: %d, want 404", code)
			}
			if code := n.do(t, http.MethodGet, "/v1/pins/"+id, "", nil); code != http.StatusNotFound {
				t.Errorf("GET /v1/pins/%s after the unpin: %d, want 404", id, code)
			}
		}
		var all api.PinsResponse
		if n.do(t, http.MethodGet, "/v1/pins", n.APIKey, &all); len(all.Pins) != 1 || all.Pins[0].CID != idKept.String() {
			t.Fatalf("GET /v1/pins after unpins: %+v", all)
		}
	})

	// The same bytes uploaded again: pinned again, copies kept.
	n.Upload(t, again)
	n.WaitPin(t, idAgain.String(), 30*time.Second, registry.StatusPinned)

	t.Run("garbage is deleted after the grace", func(t *testing.T) {
		// One holder is down when the deletes go out: its copy stays
		// listed, to be deleted when it can be reached.
		down := holders[len(holders)-1]
		down.Stop()
		if err := a.Repairs.TriggerWait(ctx); err != nil {
			t.Fatal(err)
		}
		for _, h := range holders {
			if h != down && h.HasOnDisk(idGone) {
				t.Errorf("node %s still holds unpinned %s", h.ID(), idGone)
			}
			if !h.HasOnDisk(idKept) {
				t.Errorf("node %s lost pinned %s", h.ID(), idKept)
			}
		}
		reg := openRegistry(t, n)
		for _, h := range holders {
			on, err := reg.HoldersOn(ctx, h.ID())
			if err != nil {
				t.Fatal(err)
			}
			if listed := slices.Contains(on, idGone.String()); listed != (h == down) {
				t.Errorf("node %s (down: %v) still listed with %s: %v", h.ID(), h == down, idGone, listed)
			}
		}
		if g, err := reg.CollectGarbage(ctx, time.Now(), 0); err != nil || len(g) != 1 || g[0].CID != idGone.String() ||
			len(g[0].Holders) != 1 || g[0].Holders[0].NodeID != down.ID() {
			t.Errorf("garbage left: %+v, %v; want %s on the down node only", g, err, idGone)
		}
		againHolders, _ := n.Holders(t, idAgain.String())
		if len(againHolders) != 3 {
			t.Fatalf("%s pinned again has %d holders, want 3", idAgain, len(againHolders))
		}
		for _, h := range againHolders {
			if !h.HasOnDisk(idAgain) {
				t.Errorf("node %s lost %s, pinned again", h.ID(), idAgain)
			}
		}
		// A delete from a view older than the new upload changes nothing.
		c := n.WireClientAs(t, identity.RoleAuditor)
		r, err := c.Delete(ctx, againHolders[0].Target(), idAgain, unpinned)
		if err != nil || r.Deleted || !againHolders[0].HasOnDisk(idAgain) {
			t.Fatalf("stale delete: %+v, %v; still on disk %v", r, err, againHolders[0].HasOnDisk(idAgain))
		}
		// Only gateways and auditors may delete.
		if _, err := n.WireClientAs(t, identity.RoleNode).Delete(ctx, againHolders[0].Target(), idAgain, time.Now().Add(time.Hour)); err == nil {
			t.Error("a node's delete order was obeyed")
		}
		if !againHolders[0].HasOnDisk(idAgain) {
			t.Error("a node's delete order removed the blob")
		}
	})
}
