package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dstor/shared/api"
	"dstor/shared/cid"
)

// gatewayCounters reads the gateway's GET /metrics and returns every
// metric's value, summed over its labels.
func (e *dstorEnv) gatewayCounters(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.c.Env.Gateway+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.api.HTTP(0).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := expect(resp, http.StatusOK); err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("GET /metrics: %q: %w", line, err)
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		out[name] += v
	}
	return out, sc.Err()
}

// gatewayCounter is one metric of gatewayCounters.
func (e *dstorEnv) gatewayCounter(ctx context.Context, name string) (float64, error) {
	m, err := e.gatewayCounters(ctx)
	if err != nil {
		return 0, err
	}
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("GET /metrics has no %s", name)
	}
	return v, nil
}

// settled waits until the pin of id is done replicating (status pinned or
// failed), so that its pulls do not run under the next measured run.
func (e *dstorEnv) settled(ctx context.Context, id cid.CID, limit time.Duration) (api.PinResponse, error) {
	var pr api.PinResponse
	err := waitFor(ctx, nil, limit, func() error {
		if err := e.get(ctx, "/v1/pins/"+id.String(), &pr); err != nil {
			return err
		}
		if pr.Status != "pinned" && pr.Status != "failed" {
			return fmt.Errorf("pin %s is %s (%d of %d pinned)", id, pr.Status, pr.Pinned, pr.Replicas)
		}
		return nil
	})
	if err == nil && pr.Status == "failed" {
		err = errors.New("pin " + id.String() + " failed: " + strconv.Itoa(pr.Pinned) + " of " + strconv.Itoa(pr.Replicas) + " pinned")
	}
	return pr, err
}
