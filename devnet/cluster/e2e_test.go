package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"dstor/shared/api"
	"dstor/shared/cid"
	"dstor/shared/identity"
)

// buildBinaries builds gatewayd and noded once into a temp directory.
// The daemons are built once per test binary, into binDir.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func buildBinaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "dstor-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "dstor/gatewayd", "dstor/noded", "dstor/auditd", "dstor/devnet/fakenode")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// freePort returns a port free on both UDP and TCP of 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		u.Close()
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

type e2e struct {
	t  *testing.T
	c  *Cluster
	hc *http.Client
}

func (e *e2e) upload(body io.Reader, key string) (*http.Response, api.BlobResponse) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.c.Env.Gateway+"/v1/blobs", body)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	var br api.BlobResponse
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &br)
	if resp.StatusCode >= 400 {
		checkJSONError(e.t, resp, raw)
	}
	return resp, br
}

// get follows the gateway's redirect like curl -L.
func (e *e2e) get(path string, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	url := e.c.Env.Gateway + path
	for hop := 0; hop < 3; hop++ {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := e.hc.Do(req)
		if err != nil {
			e.t.Fatalf("GET %s: %v", url, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			e.t.Fatalf("GET %s body: %v", url, err)
		}
		if resp.StatusCode != http.StatusTemporaryRedirect {
			return resp, body
		}
		url = resp.Header.Get("Location")
	}
	e.t.Fatalf("GET %s: too many redirects", path)
	return nil, nil
}

func checkJSONError(t *testing.T, resp *http.Response, raw []byte) {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(raw, &e); err != nil || e.Error == "" {
		t.Errorf("%s: error body is not {\"error\": ...}: %q", resp.Status, raw)
	}
}

func b3sumCID(t *testing.T, data []byte) string {
	t.Helper()
	if _, err := exec.LookPath("b3sum"); err != nil {
		return ""
	}
	cmd := exec.Command("b3sum", "--no-names")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(out)))
	if err != nil || len(raw) != 32 {
		t.Fatalf("b3sum printed %q", out)
	}
	return cid.FromDigest([32]byte(raw)).String()
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	bin := buildBinaries(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Start(ctx, Config{
		Bin:           bin,
		Dir:           dir,
		Gateway:       "127.0.0.1:" + strconv.Itoa(freePort(t)),
		ProbeInterval: 500 * time.Millisecond,
		Logs:          testLog{t},
		// R = W: these tests count the W synchronous copies and need
		// nodes that do not hold a blob (placement has its own tests).
		GatewayArgs: []string{"-replicas", "3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	hc, err := c.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, c: c, hc: hc}
	env, err := os.ReadFile(filepath.Join(dir, "cluster.env"))
	if err != nil || !bytes.Contains(env, []byte("DSTOR_API_KEY="+c.Env.APIKey)) {
		t.Fatalf("cluster.env: %q, %v", env, err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	blobs := map[string][]byte{}
	for _, n := range []int{0, 1, 16<<10 + 1, 8<<20 + 3} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		t.Run(fmt.Sprintf("upload %d bytes", n), func(t *testing.T) {
			resp, br := e.upload(bytes.NewReader(data), c.Env.APIKey)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %s", resp.Status)
			}
			want := cid.Sum(data).String()
			if br.CID != want || br.Size != int64(n) || br.Replicas != 3 {
				t.Fatalf("got %+v, want cid %s size %d replicas 3", br, want, n)
			}
			if b3 := b3sumCID(t, data); b3 != "" && b3 != br.CID {
				t.Fatalf("b3sum implies %s, gateway said %s", b3, br.CID)
			}
			blobs[br.CID] = data
			resp, body := e.get("/ipfs/"+br.CID, nil)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("read back: %s, %d bytes, equal %v", resp.Status, len(body), bytes.Equal(body, data))
			}
			if resp.Header.Get("ETag") != `"`+br.CID+`"` || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
				t.Errorf("headers: %v", resp.Header)
			}
		})
	}
	var big cid.CID
	for k, v := range blobs {
		if len(v) > 1<<20 {
			big, _ = cid.Parse(k)
		}
	}
	bigData := blobs[big.String()]
	if bigData == nil {
		t.Fatal("the large upload failed")
	}

	t.Run("again is 200", func(t *testing.T) {
		resp, br := e.upload(bytes.NewReader(bigData), c.Env.APIKey)
		if resp.StatusCode != http.StatusOK || br.CID != big.String() || br.Replicas != 3 {
			t.Fatalf("%s %+v", resp.Status, br)
		}
	})

	t.Run("range", func(t *testing.T) {
		resp, body := e.get("/ipfs/"+big.String(), map[string]string{"Range": "bytes=100-199"})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, bigData[100:200]) {
			t.Fatalf("%s, %d bytes", resp.Status, len(body))
		}
		if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes 100-199/%d", len(bigData)) {
			t.Fatalf("Content-Range %q", cr)
		}
		resp, body = e.get("/ipfs/"+big.String(), map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(bigData))})
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("past the end: %s", resp.Status)
		}
		checkJSONError(t, resp, body)
	})

	t.Run("http3", func(t *testing.T) {
		pool, _ := identity.LoadPool(c.Env.CA)
		tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		defer tr.Close()
		h3 := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		resp, err := h3.Get(c.Env.Gateway + "/ipfs/" + big.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/3.0" || !bytes.Equal(body, bigData) {
			t.Fatalf("%s %s, %d bytes", resp.Proto, resp.Status, len(body))
		}
		if resp.Request.URL.Host == strings.TrimPrefix(c.Env.Gateway, "https://") {
			t.Fatalf("was not redirected to a node")
		}
	})

	t.Run("alt-svc on tcp", func(t *testing.T) {
		resp, err := hc.Get(c.Env.Gateway + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		port := c.Env.Gateway[strings.LastIndex(c.Env.Gateway, ":")+1:]
		if as := resp.Header.Get("Alt-Svc"); !strings.HasPrefix(as, `h3=":`+port+`"`) {
			t.Fatalf("Alt-Svc %q", as)
		}
	})

	t.Run("proxy", func(t *testing.T) {
		resp, body := e.get("/ipfs/"+big.String()+"?redirect=0", map[string]string{"Range": "bytes=5-"})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, bigData[5:]) {
			t.Fatalf("%s, %d bytes", resp.Status, len(body))
		}
	})

	t.Run("pin", func(t *testing.T) {
		resp, body := e.get("/v1/pins/"+big.String(), nil)
		var pr api.PinResponse
		if err := json.Unmarshal(body, &pr); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %q", resp.Status, body)
		}
		regions := map[string]bool{}
		for _, h := range pr.Holders {
			regions[h.Region] = true
		}
		if pr.Status != "pinned" || len(pr.Holders) != 3 || len(regions) != 3 || pr.Size != int64(len(bigData)) {
			t.Fatalf("pin %+v", pr)
		}
		resp, body = e.get("/v1/pins/"+cid.Sum([]byte("never uploaded")).String(), nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown pin: %s", resp.Status)
		}
		checkJSONError(t, resp, body)
	})

	t.Run("peer fetch", func(t *testing.T) {
		_, body := e.get("/v1/pins/"+big.String(), nil)
		var pr api.PinResponse
		json.Unmarshal(body, &pr)
		held := map[string]bool{}
		for _, h := range pr.Holders {
			held[h.ID] = true
		}
		ns, _ := c.NodesView()
		for _, n := range ns {
			if held[n.ID] {
				continue
			}
			resp, err := hc.Get(n.URL + "/ipfs/" + big.String())
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Equal(got, bigData) {
				t.Fatalf("non-holder %s: %s, %d bytes", n.ID, resp.Status, len(got))
			}
			return
		}
		t.Fatal("every node holds the blob")
	})

	t.Run("bad input", func(t *testing.T) {
		resp, body := e.get("/ipfs/notacid", nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("malformed cid: %s", resp.Status)
		}
		checkJSONError(t, resp, body)
		resp, body = e.get("/ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("cidv0: %s", resp.Status)
		}
		if resp, _ := e.upload(strings.NewReader("x"), ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("no key: %s", resp.Status)
		}
		if resp, _ := e.upload(strings.NewReader("x"), "dsk_wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("wrong key: %s", resp.Status)
		}
		if _, err := os.Stat(filepath.Join(dir, "gateway", "registry.db")); err != nil {
			t.Fatal(err)
		}
		if resp, _ := e.get("/v1/pins/"+cid.Sum([]byte("x")).String(), nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("rejected upload left a pin: %s", resp.Status)
		}
	})

	t.Run("cut-off upload", func(t *testing.T) {
		data := make([]byte, 4<<20)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		pool, _ := identity.LoadPool(c.Env.CA)
		conn, err := tls.Dial("tcp", strings.TrimPrefix(c.Env.Gateway, "https://"), &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /v1/blobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", c.Env.APIKey, len(data))
		conn.Write(data[:len(data)/2])
		time.Sleep(300 * time.Millisecond) // let the gateway stream the first half to the nodes
		conn.Close()
		deadline := time.Now().Add(10 * time.Second)
		for {
			left := tempFiles(t, c)
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("temp files left on nodes: %v", left)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if resp, _ := e.get("/v1/pins/"+cid.Sum(data).String(), nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("cut-off upload left a pin: %s", resp.Status)
		}
	})

	t.Run("two nodes killed", func(t *testing.T) {
		for _, p := range c.Nodes[:2] {
			if err := p.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.Wait()
		}
		if err := c.WaitNodes(ctx, len(c.Nodes)-2); err != nil {
			t.Fatal(err)
		}
		for id, data := range blobs {
			resp, body := e.get("/ipfs/"+id, nil)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("%s after kill: %s, %d bytes", id, resp.Status, len(body))
			}
			if isDead(c, resp.Request.URL.String()) {
				t.Fatalf("read sent to a dead node: %s", resp.Request.URL)
			}
		}
	})

	t.Run("graceful stop", func(t *testing.T) {
		c.Stop()
		if err := c.Gateway.Wait(); err != nil {
			t.Errorf("gatewayd exit: %v", err)
		}
		for _, p := range c.Nodes[2:] {
			if err := p.Wait(); err != nil {
				t.Errorf("%s exit: %v", p.Name, err)
			}
		}
	})
}

// tempFiles lists the files under every node's store/tmp, at any depth.
func tempFiles(t *testing.T, c *Cluster) []string {
	var out []string
	for _, p := range c.Nodes {
		err := filepath.WalkDir(filepath.Join(p.Dir, "store", "tmp"), func(path string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.Type().IsRegular() {
				out = append(out, path)
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return out
}

func isDead(c *Cluster, url string) bool {
	ns, _ := c.NodesView()
	for _, n := range ns {
		if strings.HasPrefix(url, n.URL) && n.State != "up" {
			return true
		}
	}
	return false
}

// testLog routes daemon logs to t.Log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestKillDuringUploads: kill -9 of a node while 100 uploads run, then a
// restart: every upload the gateway acknowledged reads back and verifies,
// from every holder, and no temp file remains on any node.
func TestKillDuringUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	bin := buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Start(ctx, Config{
		Bin:           bin,
		Dir:           t.TempDir(),
		Gateway:       "127.0.0.1:" + strconv.Itoa(freePort(t)),
		ProbeInterval: 300 * time.Millisecond,
		Logs:          testLog{t},
		// R = W: these tests count the W synchronous copies and need
		// nodes that do not hold a blob (placement has its own tests).
		GatewayArgs: []string{"-replicas", "3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	e := &e2e{t: t, c: c}
	if e.hc, err = c.HTTPClient(); err != nil {
		t.Fatal(err)
	}
	victim := c.Nodes[1]
	type result struct {
		data []byte
		cid  string
	}
	acked := make(chan result, 100)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := make([]byte, 256<<10+i*40999)
			rand.NewChaCha8([32]byte{byte(i), 7}).Read(data)
			req, _ := http.NewRequest(http.MethodPost, c.Env.Gateway+"/v1/blobs", bytes.NewReader(data))
			req.Header.Set("Authorization", "Bearer "+c.Env.APIKey)
			resp, err := e.hc.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var br api.BlobResponse
			if resp.StatusCode == http.StatusCreated && json.NewDecoder(resp.Body).Decode(&br) == nil {
				acked <- result{data, br.CID}
			}
		}()
	}
	// Kill the victim while it is receiving blobs: once it has temp files.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if len(tempFiles(t, &Cluster{Nodes: []*Proc{victim}})) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the victim never received a blob")
		}
		time.Sleep(time.Millisecond)
	}
	victim.Signal(syscall.SIGKILL)
	wg.Wait()
	close(acked)
	victim.Wait()
	if err := c.Restart(victim); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitNodes(ctx, len(c.Nodes)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range acked {
		n++
		if want := cid.Sum(r.data).String(); r.cid != want {
			t.Fatalf("acknowledged cid %s, want %s", r.cid, want)
		}
		_, body := e.get("/v1/pins/"+r.cid, nil)
		var pr api.PinResponse
		if err := json.Unmarshal(body, &pr); err != nil || len(pr.Holders) != 3 {
			// W=3 with five nodes still up: every acknowledged upload has three.
			t.Fatalf("pin %s: %q", r.cid, body)
		}
		for _, h := range pr.Holders {
			resp, err := e.hc.Get(h.URL + "/ipfs/" + r.cid)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, r.data) {
				t.Fatalf("%s from %s after the restart: %s, %v", r.cid, h.ID, resp.Status, err)
			}
		}
	}
	t.Logf("%d of 100 uploads acknowledged; all read back from every holder", n)
	if n == 0 {
		t.Fatal("no upload was acknowledged")
	}
	// Uploads that failed when the victim died are aborted on the other
	// nodes too (at most a node-stall timeout later): nothing stays.
	deadline = time.Now().Add(40 * time.Second)
	for left := tempFiles(t, c); len(left) != 0; left = tempFiles(t, c) {
		if time.Now().After(deadline) {
			t.Fatalf("temp files after the restart: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
