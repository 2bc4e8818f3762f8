package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/zeebo/blake3"

	"dstor/shared/api"
	"dstor/shared/cid"
)

const (
	// ingestWrites is W, the copies an upload writes before it is
	// acknowledged: gatewayd's default, which devnet/cluster keeps.
	ingestWrites = 3
	// ingestChunk is the size of the client's writes and of the pieces
	// the in-process hashing figure feeds BLAKE3 (the gateway reads and
	// hashes the body in 1 MiB pieces too).
	ingestChunk = 1 << 20
	// ingestWarmup is the unmeasured upload before each measured one.
	ingestWarmup = 16 << 20
	// replicaBytesMetric counts the bytes the gateway sent to nodes.
	replicaBytesMetric = "dstor_gateway_replica_bytes_sent_total"
	// settleLimit bounds the wait for a blob's pulls to finish.
	settleLimit = 5 * time.Minute
)

// measureIngest is issue 4's ingest figure: one POST /v1/blobs of
// IngestSize new random bytes over HTTP/3, written in ingestChunk pieces
// on one QUIC connection (see h3Conn), timed until the gateway's 201 (W
// copies committed; the other R-W nodes pull afterwards, not through the
// gateway). Before it, this round's bytes are hashed in process to get
// BLAKE3's single-core rate and the CID to expect; after it, the gateway's
// replica-bytes counter gives the copies it sent, and the suite waits for
// the pin to be done replicating so its pulls load no later run. Run
// without q1, it measures Q1 too, once per round.
func measureIngest(ctx context.Context, s *suite) error {
	if !s.cfg.selected("q1") {
		if err := measureQ1(ctx, s); err != nil {
			return fmt.Errorf("q1: %w", err)
		}
	}
	e, err := s.env(ctx)
	if err != nil {
		return err
	}
	size := s.cfg.IngestSize
	if int64(len(s.gw.blob)) != size {
		s.gw.blob = make([]byte, size)
	}
	data := s.gw.blob
	e.seed++
	randomReader(e.seed).Read(data)

	s.quiet(ctx)
	hashTook, id := hashPieces(data, ingestChunk)
	hashRate := megabytesPerSec(size, hashTook)

	conn, err := dialH3(ctx, e.pool, e.c.Env.Gateway)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := warmH3(ctx, conn, e.c.Env.Gateway+"/healthz"); err != nil {
		return err
	}
	if !s.gw.warmed {
		// Once: open the gateway's connections to the nodes and grow
		// their windows.
		warm := make([]byte, ingestWarmup)
		e.seed++
		randomReader(e.seed).Read(warm)
		wid, _, _, err := e.ingest(ctx, conn, warm)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if _, err := e.settled(ctx, wid, settleLimit); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		s.gw.warmed = true
	}

	before, err := e.gatewayCounter(ctx, replicaBytesMetric)
	if err != nil {
		return err
	}
	s.quiet(ctx)
	cpu := startCPU(e.pids()...)
	got, br, upload, err := e.ingest(ctx, conn, data)
	if err != nil {
		return err
	}
	note := cpu.note(upload)
	if got != id {
		return fmt.Errorf("gateway stored %s, the bytes hash to %s", got, id)
	}
	after, err := e.gatewayCounter(ctx, replicaBytesMetric)
	if err != nil {
		return err
	}
	settleStart := time.Now()
	pin, err := e.settled(ctx, id, settleLimit)
	if err != nil {
		return err
	}
	if br.Replicas != ingestWrites {
		return fmt.Errorf("upload acknowledged with %d copies; the targets assume W=%d", br.Replicas, ingestWrites)
	}

	name := fmt.Sprintf("dStor gateway ingest %s, W=%d", sizeName(size), ingestWrites)
	s.add(Figure{Key: keyIngest, Name: name, Unit: MBps, Value: megabytesPerSec(size, upload),
		Note: joinNotes(fmt.Sprintf("POST /v1/blobs over HTTP/3 in %s writes, until the 201 (%s)", sizeName(ingestChunk), upload.Round(time.Millisecond)),
			note, fmt.Sprintf("then %d of R=%d pinned %s later", pin.Pinned, pin.Replicas, time.Since(settleStart).Round(100*time.Millisecond)))})
	s.add(Figure{Key: keyIngestCopies, Name: "copies the gateway sent", Unit: Copies, Value: (after - before) / float64(size),
		Note: fmt.Sprintf("%s delta / blob size; R=%d", replicaBytesMetric, pin.Replicas)})
	s.add(Figure{Key: keyIngestHash, Name: "BLAKE3 share of the upload time", Unit: Percent, Value: 100 * hashTook.Seconds() / upload.Seconds(),
		Note: fmt.Sprintf("%s hashed in %s (one core) / upload %s", sizeName(size), hashTook.Round(time.Millisecond), upload.Round(time.Millisecond))})
	s.add(Figure{Key: keyBlake3, Name: fmt.Sprintf("BLAKE3, one core, %s pieces", sizeName(ingestChunk)), Unit: MBps, Value: hashRate,
		Note: "zeebo/blake3 in the bench process; issue: about 3,600 MB/s"})
	return nil
}

// ingest uploads data through the gateway over conn and returns the CID
// and answer of its 201, and the time until that answer.
func (e *dstorEnv) ingest(ctx context.Context, conn *h3Conn, data []byte) (cid.CID, api.BlobResponse, time.Duration, error) {
	hdr := map[string]string{
		"authorization": "Bearer " + e.c.Env.APIKey,
		"content-type":  "application/octet-stream",
	}
	var br api.BlobResponse
	ans, err := conn.post(ctx, "/v1/blobs", hdr, data, ingestChunk)
	if err != nil {
		return cid.CID{}, br, 0, fmt.Errorf("upload: %w", err)
	}
	if ans.status != http.StatusCreated {
		return cid.CID{}, br, 0, fmt.Errorf("upload: %d %s", ans.status, ans.body)
	}
	if err := json.Unmarshal(ans.body, &br); err != nil {
		return cid.CID{}, br, 0, fmt.Errorf("upload answer: %w", err)
	}
	id, err := cid.Parse(br.CID)
	if err != nil {
		return id, br, 0, err
	}
	e.log("  uploaded %s in %s: %s", sizeName(int64(len(data))), ans.took.Round(time.Millisecond), id)
	return id, br, ans.took, nil
}

// hashPieces hashes data with BLAKE3 in pieces of chunk bytes, as the
// gateway does, and returns how long it took and the CID.
func hashPieces(data []byte, chunk int) (time.Duration, cid.CID) {
	start := time.Now()
	h := blake3.New()
	for off := 0; off < len(data); off += chunk {
		h.Write(data[off:min(off+chunk, len(data))])
	}
	var d [cid.DigestSize]byte
	h.Sum(d[:0])
	return time.Since(start), cid.FromDigest(d)
}

// warmH3 GETs url over conn, so that a timed request does not pay the
// handshake.
func warmH3(ctx context.Context, conn *h3Conn, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := conn.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return expect(resp, http.StatusOK)
}
