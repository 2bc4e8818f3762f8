// Command bench is dStor's load suite: it measures the node's figures from
// issue 3 beside their baselines (a bare quic-go stream and http3 handler,
// Caddy) in one run and prints them as a table. `make bench` runs it; see
// bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"dstor/bench/load"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == load.BareServerCommand {
		if err := load.ServeBare(os.Args[2:]); err != nil {
			fatal(err)
		}
		return
	}
	cfg := load.Defaults()
	var run string
	flag.StringVar(&cfg.Bin, "bin", ".dstor/bin", "directory with gatewayd and noded")
	flag.StringVar(&run, "run", "", "comma-separated measurements to run (default all): "+strings.Join(load.Names(), ","))
	flag.IntVar(&cfg.Concurrency, "c", cfg.Concurrency, "concurrent clients of the request-rate and concurrent-read runs")
	flag.IntVar(&cfg.Conns, "conns", cfg.Conns, "QUIC connections (one http3.Transport each) the clients share")
	flag.DurationVar(&cfg.Duration, "d", cfg.Duration, "measured time of each request-rate and write run")
	flag.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "unmeasured load before each request-rate run")
	flag.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "rounds of the repeated measurements (baselines, cached reads); figures are medians")
	flag.IntVar(&cfg.Reads, "reads", cfg.Reads, "sequential reads behind each 256 MiB throughput figure (median)")
	flag.DurationVar(&cfg.ReadLimit, "read-limit", cfg.ReadLimit, "stop each concurrent large read after this long (0: read whole)")
	flag.Int64Var(&cfg.Q1Bytes, "q1-bytes", cfg.Q1Bytes, "bytes Q1 moves")
	flag.Int64Var(&cfg.BigSize, "big", cfg.BigSize, "size of the large blob")
	flag.IntVar(&cfg.SmallSize, "small", cfg.SmallSize, "size of the small blob")
	flag.Int64Var(&cfg.IngestSize, "ingest-size", cfg.IngestSize, "size of the blob the ingest measurement uploads")
	flag.Int64Var(&cfg.BigCacheBytes, "big-cache-bytes", cfg.BigCacheBytes, "-cache-bytes of the node serving the cached large read")
	flag.Int64Var(&cfg.CacheBytes, "cache-bytes", cfg.CacheBytes, "-cache-bytes of the cluster's nodes (cold reads and RSS use one; the large blob must not fit)")
	flag.DurationVar(&cfg.QuietWait, "quiet-wait", cfg.QuietWait, "wait up to this long before each run for the machine to be idle (0: do not)")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write the bench client's CPU profile to this file")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the temporary directory (daemon logs, Caddyfile)")
	flag.Parse()
	if run != "" {
		cfg.Run = strings.Split(run, ",")
	}
	cfg.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := load.Run(ctx, cfg, os.Stdout); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
