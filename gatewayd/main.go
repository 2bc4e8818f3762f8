// Command gatewayd runs a dStor gateway.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"dstor/gatewayd/gateway"
	"dstor/gatewayd/gateway/locate"
	"dstor/shared/heapfloor"
)

func main() {
	var cfg gateway.Config
	var regions, trusted, geoMap, hosts string
	flag.StringVar(&cfg.Dir, "dir", "", "state directory (CA, key, registry)")
	flag.StringVar(&cfg.Listen, "listen", "127.0.0.1:8443", "UDP and TCP host:port")
	flag.StringVar(&cfg.Region, "region", "", "the gateway's own region")
	flag.StringVar(&hosts, "hosts", "", "extra names and addresses for the gateway's certificate: gw.example.net,...")
	flag.StringVar(&regions, "regions", "", "client networks to regions: CIDR=region,...")
	flag.StringVar(&cfg.Registry, "registry", "", "registry: a SQLite file (default DIR/registry.db) or a postgres:// URL shared by several gateways")
	flag.IntVar(&cfg.Writes, "writes", 3, "W: nodes written before an upload is acknowledged")
	flag.IntVar(&cfg.Replicas, "replicas", 16, "R: copies each blob should have (W written, the rest pulled; at most 20)")
	flag.DurationVar(&cfg.ProbeInterval, "probe-interval", 0, "node probe interval (default 2s)")
	flag.StringVar(&cfg.Locate.GeoIP, "geoip", "", "MaxMind database placing clients in regions (optional)")
	flag.StringVar(&geoMap, "geoip-regions", "", "MaxMind country or continent code to region: DE=eu-central,EU=eu-west,...")
	flag.StringVar(&trusted, "trusted-proxies", "", "CIDRs of proxies whose X-Forwarded-For is believed: 10.0.0.0/8,...")
	flag.StringVar(&cfg.APIKeyFile, "api-key-file", "", "file holding (or receiving) a dev account API key")
	flag.StringVar(&cfg.EnrollTokenFile, "enroll-token-file", "", "file holding (or receiving) a node enrollment token")
	debug := flag.Bool("debug", false, "debug logging")
	flag.Parse()
	for _, s := range strings.Split(regions, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		r, err := locate.ParseRule(s)
		if err != nil {
			fatal(err)
		}
		cfg.Locate.Rules = append(cfg.Locate.Rules, r)
	}
	for _, s := range strings.Split(trusted, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			fatal(fmt.Errorf("trusted proxy %q: %w", s, err))
		}
		cfg.Locate.TrustedProxies = append(cfg.Locate.TrustedProxies, p)
	}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.Hosts = append(cfg.Hosts, h)
		}
	}
	gm, err := locate.ParseGeoMap(geoMap)
	if err != nil {
		fatal(err)
	}
	cfg.Locate.GeoMap = gm
	cfg.Logger = newLogger(*debug)
	defer heapfloor.Keep(heapfloor.Default)()
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
