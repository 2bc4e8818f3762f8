package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/zeebo/blake3"

	"dstor/shared/cid"
)

// readBufSize is the client's read buffer: large, so that reading is
// cheap next to what is measured.
const readBufSize = 1 << 20

// fetched is one completed GET.
type fetched struct {
	ttfb  time.Duration // until the first body byte
	total time.Duration // until the last
	bytes int64
	sum   cid.CID // set when the caller asked for verification
}

// get reads url with hc into buf (which must not be empty) and checks that
// the answer is a 200 over HTTP/3 of want bytes. With verify, it also
// computes the body's CID; that costs client CPU, so timed reads do not.
func get(ctx context.Context, hc *http.Client, url string, want int64, buf []byte, verify bool) (fetched, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fetched{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fetched{}, err
	}
	defer resp.Body.Close()
	if err := expect(resp, http.StatusOK); err != nil {
		return fetched{}, fmt.Errorf("GET %s: %w", url, err)
	}
	var f fetched
	var body io.Reader = resp.Body
	var h *blake3.Hasher
	if verify {
		h = blake3.New()
		body = io.TeeReader(resp.Body, h)
	}
	for {
		n, err := body.Read(buf)
		if n > 0 && f.bytes == 0 {
			f.ttfb = time.Since(start)
		}
		f.bytes += int64(n)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return f, fmt.Errorf("GET %s: body after %d bytes: %w", url, f.bytes, err)
		}
	}
	f.total = time.Since(start)
	if f.bytes != want {
		return f, fmt.Errorf("GET %s: %d bytes, want %d", url, f.bytes, want)
	}
	if verify {
		var d [cid.DigestSize]byte
		h.Sum(d[:0])
		f.sum = cid.FromDigest(d)
	}
	return f, nil
}

// expect checks a response's status and that it came over HTTP/3.
func expect(resp *http.Response, status int) error {
	if resp.Proto != "HTTP/3.0" {
		return fmt.Errorf("answered over %s, not HTTP/3", resp.Proto)
	}
	if resp.StatusCode != status {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return nil
}

// getVerified reads a blob once and checks its bytes hash to its CID.
func getVerified(ctx context.Context, hc *http.Client, base string, id cid.CID, size int64) error {
	f, err := get(ctx, hc, base+"/ipfs/"+id.String(), size, make([]byte, readBufSize), true)
	if err != nil {
		return err
	}
	if f.sum != id {
		return fmt.Errorf("%s/ipfs/%s: body hashes to %s", base, id, f.sum)
	}
	return nil
}

// sequentialReads reads url n times, one after another, over hc, and
// returns the median throughput (MB/s) and time to first byte.
func sequentialReads(ctx context.Context, hc *http.Client, url string, size int64, n int) (mbps float64, ttfb time.Duration, err error) {
	buf := make([]byte, readBufSize)
	var rates []float64
	var ttfbs []time.Duration
	for range n {
		f, err := get(ctx, hc, url, size, buf, false)
		if err != nil {
			return 0, 0, err
		}
		rates = append(rates, megabytesPerSec(f.bytes, f.total))
		ttfbs = append(ttfbs, f.ttfb)
	}
	return median(rates), median(ttfbs), nil
}

// warmConn makes sure hc has a connection to url's server, so that a timed read
// does not pay the handshake.
func warmConn(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := expect(resp, http.StatusOK); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func megabytesPerSec(n int64, d time.Duration) float64 {
	return float64(n) / 1e6 / d.Seconds()
}
