package testnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dstor/noded/node"
	"dstor/noded/store"
	"dstor/shared/cid"
	"dstor/shared/identity"
	"dstor/shared/wire"
)

// flip inverts one bit of a node's stored copy of id, at off.
func flip(t *testing.T, nd *Node, id cid.CID, off int64) {
	t.Helper()
	f, err := os.OpenFile(nd.BlobPath(id), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// waitRepaired waits until nd's copy of id is back and equal to data.
func waitRepaired(t *testing.T, nd *Node, id cid.CID, data []byte) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := os.ReadFile(nd.BlobPath(id))
		if err == nil && bytes.Equal(got, data) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's copy of %s not repaired (read error %v)", nd.Name, id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readRange GETs a range from a node and returns the status and body; a
// response cut off by the node (never a corrupt one) gives a nil body.
func readRange(t *testing.T, c *http.Client, url string, off, n int) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Range", "bytes="+strconv.Itoa(off)+"-"+strconv.Itoa(off+n-1))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, body
}

// TestFlippedByte: a byte flipped on a node's disk never leaves the node.
// A read covering it is answered from a peer (small ranges, caught before
// the answer starts) or cut off (caught mid-stream), never with the bad
// byte, and the node repairs its copy from a peer.
func TestFlippedByte(t *testing.T) {
	n := Start(t, Options{CacheBytes: -1}) // every read goes to disk
	for _, tc := range []struct {
		name      string
		size      int
		at        int64
		off, n    int
		mayCutOff bool
	}{
		{"small range over the byte", 2<<20 + 5, 1<<20 + 3, 1<<20 - 10, 100, false},
		{"whole blob, byte near the end", 4 << 20, 4<<20 - 7, 0, 4 << 20, true},
		{"first byte", 64 << 10, 0, 0, 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := blob(uint64(tc.size), tc.size)
			id := MustParse(t, n.Upload(t, data).CID)
			holders, _ := n.Holders(t, id.String())
			nd := holders[0]
			flip(t, nd, id, tc.at)
			url := nd.URL() + "/ipfs/" + id.String()
			for _, c := range []*http.Client{n.HTTPClient(), n.HTTP3Client()} {
				status, body := readRange(t, c, url, tc.off, tc.n)
				if body == nil {
					if !tc.mayCutOff {
						t.Errorf("read was cut off (status %d), want an answer from a peer", status)
					}
				} else if !bytes.Equal(body, data[tc.off:tc.off+tc.n]) {
					t.Fatalf("status %d: %d bytes that differ from the blob", status, len(body))
				}
				waitRepaired(t, nd, id, data)
				flip(t, nd, id, tc.at) // again, for the next client
			}
			if got := n.Logged("gateway", "copy failed verification", "cid", id.String(), "node", nd.ID()); got == 0 {
				t.Error("the gateway got no report of the bad copy")
			}
		})
	}
}

// TestScrubFindsCorruption: with no read coming, the scrub finds a flipped
// byte, and the node repairs the blob from a peer.
func TestScrubFindsCorruption(t *testing.T) {
	n := Start(t, Options{})
	data := blob(77, 1<<20+3)
	id := MustParse(t, n.Upload(t, data).CID)
	otherData := blob(78, 5000)
	other := MustParse(t, n.Upload(t, otherData).CID)
	holders, _ := n.Holders(t, id.String())
	nd := holders[0]
	flip(t, nd, id, 12345)
	res, err := nd.Scrub(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Corrupt != 1 || res.Blobs < 1 {
		t.Fatalf("scrub %+v, want exactly one corrupt blob", res)
	}
	waitRepaired(t, nd, id, data)
	res, err = nd.Scrub(context.Background(), 0)
	if err != nil || res.Corrupt != 0 {
		t.Fatalf("second scrub: %+v, %v", res, err)
	}
	for _, h := range n.Pin(t, other.String()).Holders {
		if h.ID != nd.ID() {
			continue
		}
		if got, err := os.ReadFile(nd.BlobPath(other)); err != nil || !bytes.Equal(got, otherData) {
			t.Errorf("the scrub changed an unrelated blob: %v", err)
		}
	}
}

// tmpfs mounts a small tmpfs at dir for the test, or skips it.
func tmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
}

// TestDiskFull: a node whose filesystem fills during an upload answers
// with a no-space error, which the gateway turns into 507; nothing partial
// is left, and the node's old blobs stay readable.
func TestDiskFull(t *testing.T) {
	small := filepath.Join(t.TempDir(), "small")
	tmpfs(t, small, 6<<20)
	var full *store.Disk
	n := Start(t, Options{
		Regions:        []string{"eu-west", "us-east", "ap-south"},
		NodesPerRegion: 1,
		CacheBytes:     -1,
		NodeConfig: func(name string, cfg *node.Config) {
			if name != "node-us-east-0" {
				return
			}
			d, err := store.OpenDisk(small)
			if err != nil {
				t.Fatal(err)
			}
			full, cfg.Store = d, d
		},
	})
	nd := n.Nodes[1]
	old := blob(1, 1<<20)
	oldID := MustParse(t, n.Upload(t, old).CID)
	if !nd.HasOnDisk(oldID) && full.Count() != 1 {
		t.Fatalf("the small node did not take the first blob")
	}
	big := blob(2, 8<<20)
	resp, body := do(t, n.HTTPClient(), http.MethodPost, n.GatewayURL+"/v1/blobs", big, "Authorization", "Bearer "+n.APIKey)
	if resp.StatusCode != http.StatusInsufficientStorage {
		t.Fatalf("upload to a full node: %s %s, want 507", resp.Status, body)
	}
	if resp, _ := do(t, n.HTTPClient(), http.MethodGet, n.GatewayURL+"/v1/pins/"+cid.Sum(big).String(), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("failed upload left a pin: %s", resp.Status)
	}
	waitFor(t, "no partial file on the full node", func() bool { return len(filesIn(t, filepath.Join(small, "tmp"))) == 0 })
	status, got := readRange(t, n.HTTPClient(), nd.URL()+"/ipfs/"+oldID.String(), 0, len(old))
	if status != http.StatusOK || !bytes.Equal(got, old) {
		t.Fatalf("old blob after the failed upload: %d, %d bytes", status, len(got))
	}
	if full.Count() != 1 {
		t.Fatalf("full node holds %d blobs, want 1", full.Count())
	}
}

// TestReserve: a node under its free-space reserve says so in its status
// and gets no new blobs; the others take them.
func TestReserve(t *testing.T) {
	n := Start(t, Options{
		Regions:        []string{"eu-west", "us-east", "ap-south", "sa-east"},
		NodesPerRegion: 1,
		Writes:         3,
		NodeConfig: func(name string, cfg *node.Config) {
			if name == "node-eu-west-0" {
				cfg.Reserve = 1 << 62 // more than any disk has free
			}
		},
	})
	wc := n.WireClient(t)
	st, err := wc.Ping(context.Background(), n.Nodes[0].Target())
	if err != nil {
		t.Fatal(err)
	}
	if st.Accepting || st.Reserve != 1<<62 {
		t.Fatalf("status of the full node: %+v", st)
	}
	for i := range 5 {
		br := n.Upload(t, blob(uint64(100+i), 10_000))
		holders, _ := n.Holders(t, br.CID)
		for _, h := range holders {
			if h == n.Nodes[0] {
				t.Fatalf("blob %d placed on the node under its reserve", i)
			}
		}
		if br.Replicas != 3 {
			t.Fatalf("replicas %d, want 3 from the other nodes", br.Replicas)
		}
	}
	up, err := n.WireClientAs(t, identity.RoleGateway).Put(context.Background(), n.Nodes[0].Target(), 5)
	if err != nil {
		t.Fatal(err)
	}
	up.Write([]byte("hello"))
	if _, err := up.Commit(cid.Sum([]byte("hello"))); !errors.Is(err, wire.ErrNoSpace) {
		t.Fatalf("direct put to the full node: %v, want a no-space error", err)
	}
}

// filesIn lists the regular files under dir, at any depth.
func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// TestPeerFetchLarge: a fetch whose outboard is larger than QUIC's initial
// connection window (a blob of a few hundred MiB) completes: the outboard
// stream must not hold the credit the bytes' stream needs.
func TestPeerFetchLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("moves a 200 MiB blob")
	}
	n := Start(t, Options{Regions: []string{"r1", "r2"}, NodesPerRegion: 1, Writes: 1, CacheBytes: -1})
	data := blob(90, 200<<20)
	id := MustParse(t, n.Upload(t, data).CID)
	_, others := n.Holders(t, id.String())
	c := n.HTTPClient()
	c.Timeout = time.Minute
	status, got := readRange(t, c, others[0].URL()+"/ipfs/"+id.String(), 0, len(data))
	if status != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("peer fetch of 200 MiB: status %d, %d bytes, equal %v", status, len(got), bytes.Equal(got, data))
	}
}
