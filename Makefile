# dStor: `make run` starts a local cluster, `make test` runs every test.
GO      ?= go
STATE   ?= .dstor
BIN     := $(STATE)/bin

.PHONY: run build test deps vet fmt-check clean install

build:
	$(GO) build -o $(BIN)/ ./gatewayd ./noded ./auditd ./devnet

# A gateway on https://127.0.0.1:8443 and six nodes in three regions, state
# under .dstor/; writes .dstor/cluster.env. Ctrl-C stops everything.
run: build
	$(BIN)/devnet -bin $(BIN) -dir $(STATE)

# Everything the tests need that Go modules do not bring: b3sum, the
# independent BLAKE3 the content-address tests compare against.
deps:
	@command -v b3sum >/dev/null 2>&1 || { \
	  echo "installing b3sum (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq b3sum >/dev/null; } || \
	  echo "warning: could not install b3sum; the b3sum cross-checks will be skipped"; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test: deps fmt-check vet
	$(GO) test -race -count=1 -timeout 30m ./...

clean:
	rm -rf $(STATE)

# The load suite (bench/README.md): dStor's figures beside their baselines
# (a bare quic-go stream and http3 handler, Caddy) in one table. It builds
# the daemons, runs them on loopback and takes a few minutes. Pass flags
# with BENCH_FLAGS, e.g. make bench BENCH_FLAGS='-run bare,cached4k'.
.PHONY: bench bench-deps
bench: build bench-deps
	$(GO) build -o $(BIN)/ ./bench
	$(BIN)/bench -bin $(BIN) $(BENCH_FLAGS)

# Caddy (Debian package) is the suite's reference web server.
bench-deps:
	@command -v caddy >/dev/null 2>&1 || { \
	  echo "installing caddy (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq caddy >/dev/null; } || \
	  echo "warning: could not install caddy; the Caddy baseline will fail"; }

# Binaries into $(PREFIX)/bin and the systemd units, the sysctl drop-in for
# QUIC's socket buffers and example env files onto this host (run as root;
# DESTDIR stages elsewhere). Then: put the network's CA in /etc/dstor/ca.pem
# and a node's enrollment token in /etc/dstor/enroll-token, set the flags
# in /etc/dstor/<daemon>.env, and systemctl enable --now dstor-noded.
PREFIX  ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/systemd/system $(DESTDIR)/etc/sysctl.d $(DESTDIR)/etc/dstor
	install -m 0755 $(BIN)/gatewayd $(BIN)/noded $(BIN)/auditd $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 systemd/dstor-gatewayd.service systemd/dstor-noded.service systemd/dstor-auditd.service $(DESTDIR)/etc/systemd/system/
	install -m 0644 systemd/99-dstor.conf $(DESTDIR)/etc/sysctl.d/
	for d in gatewayd noded auditd; do \
	  f=$(DESTDIR)/etc/dstor/$$d.env; [ -e $$f ] || install -m 0600 systemd/$$d.env.example $$f; done
