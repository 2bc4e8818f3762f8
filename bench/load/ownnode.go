package load

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// ownNode is a noded process the suite starts itself and joins to the
// cluster, because devnet/cluster gives every node the same flags: here,
// a cache budget large enough to admit the large blob.
type ownNode struct {
	daemonNode
	proc *process
	url  string
}

// startNode starts a node named name with cache budget bytes, in the
// first region, and waits until the gateway sees it up.
func (e *dstorEnv) startNode(ctx context.Context, bin, name string, budget int64) (*ownNode, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(e.dir, name)
	gw := filepath.Join(e.dir, "gateway")
	cmd := exec.Command(filepath.Join(bin, "noded"),
		"-dir", dir,
		"-listen", "127.0.0.1:"+strconv.Itoa(port),
		"-region", e.c.Nodes[0].Region,
		"-gateway", e.c.Env.Gateway,
		"-ca", e.c.Env.CA,
		"-enroll-token-file", filepath.Join(gw, "enroll-token"),
		"-reserve", strconv.Itoa(256<<20),
		"-cache-bytes", strconv.FormatInt(budget, 10),
	)
	log := filepath.Join(e.dir, "logs", name+".log")
	p, err := startProcess(name, log, cmd)
	if err != nil {
		return nil, err
	}
	n := &ownNode{proc: p, url: "https://127.0.0.1:" + strconv.Itoa(port)}
	err = waitFor(ctx, p, 30*time.Second, func() error {
		up, err := e.nodes(ctx)
		if err != nil {
			return err
		}
		for id, url := range up {
			if url == n.url {
				n.daemonNode = daemonNode{id: id, pid: p.pid(), dir: dir, log: log, budget: budget}
				return nil
			}
		}
		return errors.New("the gateway does not see it up yet")
	})
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	return n, nil
}
