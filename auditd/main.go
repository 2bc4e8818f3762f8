// Command auditd runs a dStor auditor: it challenges nodes for proofs of
// the blobs they hold, keeps their reputations, repairs pins and accrues
// node earnings.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"dstor/auditd/audit"
	"dstor/shared/enroll"
)

func main() {
	var cfg audit.Config
	var tokenFile string
	flag.StringVar(&cfg.Dir, "dir", "", "state directory (the auditor's key)")
	flag.StringVar(&cfg.Registry, "registry", "", "the gateways' registry: a SQLite file or a postgres:// URL")
	flag.StringVar(&cfg.Gateway, "gateway", "https://127.0.0.1:8443", "gateway base URL (enrollment)")
	flag.StringVar(&cfg.CAFile, "ca", "", "PEM file of the network's CA")
	flag.StringVar(&tokenFile, "enroll-token-file", "", "file holding the enrollment token")
	flag.Float64Var(&cfg.Rate, "rate", 0, "challenges per second (default 20)")
	flag.IntVar(&cfg.Parallel, "parallel", 0, "challenges in flight (default 64)")
	flag.IntVar(&cfg.Ranges, "ranges", 0, "byte ranges per challenge, 4..8 (default 8)")
	flag.StringVar(&cfg.Verifier, "verifier", "", "how answers are checked: batched (default) or bao (the library's VerifySlice, about twice the CPU)")
	flag.DurationVar(&cfg.HardLimit, "hard-limit", 0, "least time an answer may take before it is a timeout (default 2s)")
	flag.Float64Var(&cfg.RepairThreshold, "repair-threshold", 0, "repair a pin under this fraction of R healthy (default 0.75)")
	flag.IntVar(&cfg.RepairParallel, "repair-parallel", 0, "repair pulls in flight (default 4)")
	flag.Int64Var(&cfg.RepairRate, "repair-rate", 0, "bytes per second repairs may copy (default 64 MiB/s; -1: no limit)")
	flag.DurationVar(&cfg.RepairInterval, "repair-interval", 0, "how often to look for pins to repair (default 10s)")
	flag.DurationVar(&cfg.UnpinGrace, "unpin-grace", 0, "how long copies of a blob no account pins are kept before deletion (default 1h)")
	flag.DurationVar(&cfg.OfflineGrace, "offline-grace", 0, "how long a node may be unreachable before its copies are repaired (default 10m)")
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
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("daemon", "auditd")
	a, err := audit.New(cfg)
	if err != nil {
		fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := a.Run(ctx); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "auditd:", err)
	os.Exit(1)
}
