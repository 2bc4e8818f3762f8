// Command devnet runs a local dStor cluster on loopback: `make run`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"dstor/devnet/cluster"
)

func main() {
	var cfg cluster.Config
	flag.StringVar(&cfg.Bin, "bin", ".dstor/bin", "directory with gatewayd and noded")
	flag.StringVar(&cfg.Dir, "dir", ".dstor", "state directory")
	flag.StringVar(&cfg.Gateway, "gateway", "127.0.0.1:8443", "gateway host:port")
	flag.IntVar(&cfg.NodesPerRegion, "nodes-per-region", 2, "nodes in each of the three regions")
	flag.IntVar(&cfg.NodePort, "node-port", 9001, "first node port (0: any free port)")
	flag.IntVar(&cfg.Auditors, "auditors", 1, "auditd processes")
	quiet := flag.Bool("quiet", false, "do not copy daemon logs to stdout")
	flag.Parse()
	if !*quiet {
		cfg.Logs = os.Stdout
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cluster.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devnet:", err)
		os.Exit(1)
	}
	fmt.Printf(`
dStor is running: gateway %[1]s, %[4]d nodes in 3 regions, %[6]d auditor(s). Ctrl-C stops it.

  source %[5]s/cluster.env
  curl --cacert $DSTOR_CA -H "Authorization: Bearer $DSTOR_API_KEY" --data-binary @FILE $DSTOR_GATEWAY/v1/blobs
  curl -L --cacert $DSTOR_CA $DSTOR_GATEWAY/ipfs/CID
  curl --cacert $DSTOR_CA $DSTOR_GATEWAY/v1/nodes
  curl --cacert $DSTOR_CA $DSTOR_GATEWAY/v1/pins/CID
  curl --cacert $DSTOR_CA $DSTOR_GATEWAY/v1/nodes/NODE/audits

  API key: %[2]s
  CA:      %[3]s
  logs:    %[5]s/logs/

`, c.Env.Gateway, c.Env.APIKey, c.Env.CA, len(c.Nodes), cfg.Dir, len(c.Auditors))
	<-ctx.Done()
	fmt.Println("devnet: stopping")
	c.Stop()
}
