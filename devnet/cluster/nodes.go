package cluster

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"dstor/shared/identity"
	"dstor/shared/latency"
)

// ID is the node's identity, from its key (which the node creates when
// it first starts).
func (p *Proc) ID() (string, error) {
	if p.id != "" {
		return p.id, nil
	}
	path := filepath.Join(p.Dir, "node.key")
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("cluster: %s has no key yet: %w", p.Name, err)
	}
	key, err := identity.LoadOrCreateKey(path)
	if err != nil {
		return "", err
	}
	p.id = identity.ID(key.Public().(ed25519.PublicKey))
	return p.id, nil
}

// URL is the node's base URL as clients use it (its proxy's, with
// Config.Latency); empty until the gateway has listed the node.
func (p *Proc) URL() string { return p.url }

// IP is the node's own loopback address, which it listens on and sends
// from, with Config.Latency; the zero Addr otherwise.
func (p *Proc) IP() netip.Addr { return p.ip }

// Proxy is the latency proxy in front of the node, with Config.Latency
// (nil otherwise). Tests may change its profiles at run time.
func (p *Proc) Proxy() *latency.Proxy { return p.proxy }

// Pause freezes node i (SIGSTOP): it neither answers nor exits, like a
// host that hangs.
func (c *Cluster) Pause(i int) error { return c.Nodes[i].Signal(syscall.SIGSTOP) }

// Resume lets node i run again after Pause (SIGCONT).
func (c *Cluster) Resume(i int) error { return c.Nodes[i].Signal(syscall.SIGCONT) }

// Kill kills node i (SIGKILL) and waits for it to exit. Restart brings
// it back with the same state.
func (c *Cluster) Kill(i int) error {
	p := c.Nodes[i]
	if err := p.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	p.Wait()
	return nil
}

// AddNode starts one more node in region, with extra noded flags after
// the cluster's own, and waits until the gateway lists it up.
func (c *Cluster) AddNode(ctx context.Context, region string, extra ...string) (*Proc, error) {
	p, err := c.startNode(region, extra)
	if err != nil {
		return nil, err
	}
	return p, c.waitUp(ctx, p, func() error { return nil })
}

// waitUp waits until ready passes and the gateway lists p up, and learns
// p's URL; it gives up when p exits.
func (c *Cluster) waitUp(ctx context.Context, p *Proc, ready func() error) error {
	return c.poll(ctx, 60*time.Second, func() error {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v (see %s)", p.Name, p.err, filepath.Join(c.cfg.Dir, "logs", p.Name+".log"))
		default:
		}
		if err := ready(); err != nil {
			return err
		}
		id, err := p.ID()
		if err != nil {
			return err
		}
		ns, err := c.NodesView()
		if err != nil {
			return err
		}
		for _, n := range ns {
			if n.ID == id && n.State == "up" {
				p.url = n.URL
				return nil
			}
		}
		return fmt.Errorf("%s (%s) not up", p.Name, id)
	})
}

// AddFakeNode starts a fakenode (devnet/fakenode: a node that cheats,
// for the auditor's tests) in region, with extra fakenode flags such as
// -mode, -blob and -from, and waits until it holds what it needs and the
// gateway lists it. Fake nodes are not in c.Nodes.
func (c *Cluster) AddFakeNode(ctx context.Context, region string, extra ...string) (*Proc, error) {
	p, err := c.startNodeLike("fakenode", fmt.Sprintf("fake-%d", len(c.fakes)), region, extra)
	if err != nil {
		return nil, err
	}
	c.fakes = append(c.fakes, p)
	return p, c.waitUp(ctx, p, func() error {
		_, err := os.Stat(filepath.Join(p.Dir, "ready"))
		return err
	})
}

// learnURLs fills in each node's URL from the gateway's list.
func (c *Cluster) learnURLs() error {
	ns, err := c.NodesView()
	if err != nil {
		return err
	}
	urls := make(map[string]string, len(ns))
	for _, n := range ns {
		urls[n.ID] = n.URL
	}
	for _, p := range c.Nodes {
		id, err := p.ID()
		if err != nil {
			return err
		}
		if u := urls[id]; u != "" {
			p.url = u
		}
	}
	return nil
}
