// Command gatewayd runs a dStor gateway.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"dstor/gatewayd/gateway"
)

func main() {
	var cfg gateway.Config
	var regions string
	flag.StringVar(&cfg.Dir, "dir", "", "state directory (CA, key, registry)")
	flag.StringVar(&cfg.Listen, "listen", "127.0.0.1:8443", "UDP and TCP host:port")
	flag.StringVar(&cfg.Region, "region", "", "the gateway's own region")
	flag.StringVar(&regions, "regions", "", "client networks to regions: CIDR=region,...")
	flag.StringVar(&cfg.Registry, "registry", "", "SQLite registry file (default DIR/registry.db)")
	flag.IntVar(&cfg.Replicas, "replicas", 3, "W: nodes written before an upload is acknowledged")
	flag.DurationVar(&cfg.ProbeInterval, "probe-interval", 0, "node probe interval (default 1s)")
	flag.StringVar(&cfg.APIKeyFile, "api-key-file", "", "file holding (or receiving) a dev account API key")
	flag.StringVar(&cfg.EnrollTokenFile, "enroll-token-file", "", "file holding (or receiving) a node enrollment token")
	debug := flag.Bool("debug", false, "debug logging")
	flag.Parse()
	for _, s := range strings.Split(regions, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		r, err := gateway.ParseRegionRule(s)
		if err != nil {
			fatal(err)
		}
		cfg.Regions = append(cfg.Regions, r)
	}
	cfg.Logger = newLogger(*debug)
	g, err := gateway.New(cfg)
	if err != nil {
		fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := g.Run(ctx); err != nil {
		fatal(err)
	}
}

func newLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("daemon", "gatewayd")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gatewayd:", err)
	os.Exit(1)
}
