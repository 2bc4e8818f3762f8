package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"dstor/shared/api"
	"dstor/shared/cid"
)

// upload stores size new random bytes through the gateway.
func (e *dstorEnv) upload(ctx context.Context, size int64) (cid.CID, error) {
	e.seed++
	body := io.LimitReader(randomReader(e.seed), size)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.c.Env.Gateway+"/v1/blobs", body)
	if err != nil {
		return cid.CID{}, err
	}
	req.ContentLength = size
	start := time.Now()
	var br api.BlobResponse
	if err := e.call(req, http.StatusCreated, &br); err != nil {
		return cid.CID{}, fmt.Errorf("upload: %w", err)
	}
	e.log("  uploaded %s in %s: %s", sizeName(size), time.Since(start).Round(time.Millisecond), br.CID)
	return cid.Parse(br.CID)
}

// call sends req to the gateway with the API key and decodes a JSON
// answer of status into v.
func (e *dstorEnv) call(req *http.Request, status int, v any) error {
	req.Header.Set("Authorization", "Bearer "+e.c.Env.APIKey)
	resp, err := e.api.HTTP(0).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := expect(resp, status); err != nil {
		return err
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (e *dstorEnv) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.c.Env.Gateway+path, nil)
	if err != nil {
		return err
	}
	return e.call(req, http.StatusOK, v)
}

// nodes returns the live nodes the gateway knows, keyed by id to URL.
func (e *dstorEnv) nodes(ctx context.Context) (map[string]string, error) {
	var nr api.NodesResponse
	if err := e.get(ctx, "/v1/nodes", &nr); err != nil {
		return nil, err
	}
	up := make(map[string]string)
	for _, n := range nr.Nodes {
		if n.State == "up" {
			up[n.ID] = n.URL
		}
	}
	return up, nil
}

// holders returns the ids of the nodes that hold id.
func (e *dstorEnv) holders(ctx context.Context, id cid.CID) ([]string, error) {
	var pr api.PinResponse
	if err := e.get(ctx, "/v1/pins/"+id.String(), &pr); err != nil {
		return nil, err
	}
	var ids []string
	for _, h := range pr.Holders {
		ids = append(ids, h.ID)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s has no holders", id)
	}
	return ids, nil
}

// clusterNode picks a live cluster node (not the suite's own) that holds
// id, or that does not, and not one of avoid. It returns the node and
// its URL.
func (e *dstorEnv) clusterNode(ctx context.Context, id cid.CID, holding bool, avoid ...string) (daemonNode, string, error) {
	up, err := e.nodes(ctx)
	if err != nil {
		return daemonNode{}, "", err
	}
	hs, err := e.holders(ctx, id)
	if err != nil {
		return daemonNode{}, "", err
	}
	for _, p := range e.procs {
		url, live := up[p.id]
		if live && slices.Contains(hs, p.id) == holding && !slices.Contains(avoid, p.id) {
			return p, url, nil
		}
	}
	what := "holds"
	if !holding {
		what = "lacks"
	}
	return daemonNode{}, "", fmt.Errorf("no live cluster node %s %s (holders %v)", what, id, hs)
}

// sharedBig returns the large blob that the cached, cold and RSS
// measurements share, uploading it the first time.
func (e *dstorEnv) sharedBig(ctx context.Context, size int64) (cid.CID, error) {
	if !e.bigBlob.Defined() {
		id, err := e.upload(ctx, size)
		if err != nil {
			return cid.CID{}, err
		}
		e.bigBlob = id
	}
	return e.bigBlob, nil
}
