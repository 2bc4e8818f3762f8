// Command noded runs a dStor storage node.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"dstor/noded/node"
	"dstor/shared/enroll"
	"dstor/shared/heapfloor"
)

func main() {
	var cfg node.Config
	var tokenFile string
	flag.StringVar(&cfg.Dir, "dir", "", "state directory (blobs, key)")
	flag.StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "UDP and TCP host:port")
	flag.StringVar(&cfg.Advertise, "advertise", "", "host clients and peers dial (default: the listen host)")
	flag.StringVar(&cfg.Region, "region", "", "the node's region")
	flag.StringVar(&cfg.Gateway, "gateway", "https://127.0.0.1:8443", "gateway base URL")
	flag.StringVar(&cfg.CAFile, "ca", "", "PEM file of the network's CA")
	flag.StringVar(&tokenFile, "enroll-token-file", "", "file holding the enrollment token")
	flag.Int64Var(&cfg.CacheBytes, "cache-bytes", 0, "hot cache budget in bytes (default 1/8 of RAM, at most 4 GiB)")
	flag.Int64Var(&cfg.Reserve, "reserve", 0, "free bytes under which no new blobs are taken (default max(5%, 2 GiB); -1: none)")
	flag.DurationVar(&cfg.ScrubInterval, "scrub-interval", 0, "one scrub pass over the whole store per this long (default 720h; negative: off)")
	flag.Int64Var(&cfg.ScrubRate, "scrub-rate", 0, "scrub read cap in bytes/s (default 32 MiB/s)")
	flag.StringVar(&cfg.Operator, "operator", "", "who runs this node (replicas are spread over operators)")
	flag.BoolVar(&cfg.Draining, "drain", false, "take no new pins; keep serving reads")
	debug := flag.Bool("debug", false, "debug logging")
	flag.Parse()
	if tokenFile != "" {
		var err error
		if cfg.EnrollToken, err = enroll.ReadToken(tokenFile); err != nil {
			fatal(err)
		}
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("daemon", "noded")
	n, err := node.New(cfg)
	if err != nil {
		fatal(err)
	}
	defer heapfloor.Keep(heapfloor.Default)()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := n.Run(ctx); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "noded:", err)
	os.Exit(1)
}
