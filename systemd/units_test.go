// Package systemd holds the unit files `make install` puts on a host; this
// test checks them with systemd-analyze.
package systemd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the worst systemd-analyze security score a unit may have
// (0 is fully locked down, 10 fully exposed; under 2 is "OK").
const maxExposure = 2.0

// TestUnits verifies every unit (no warning at all: verify exits 0 on
// warnings, so its output must be empty) and checks its hardening score,
// with ExecStart pointing at freshly built binaries.
func TestUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if out, err := exec.Command("go", "build", "-o", bin+"/", "dstor/gatewayd", "dstor/noded", "dstor/auditd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	units, _ := filepath.Glob("*.service")
	if len(units) != 3 {
		t.Fatalf("units %v, want one per daemon", units)
	}
	score := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	for _, u := range units {
		t.Run(u, func(t *testing.T) {
			b, err := os.ReadFile(u)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte("ExecStart=/usr/local/bin/")) {
				t.Fatal("ExecStart does not run a binary from /usr/local/bin, where make install puts them")
			}
			path := filepath.Join(dir, u)
			if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte("/usr/local/bin/"), []byte(bin+"/")), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			}
			out, err = exec.Command("systemd-analyze", "security", "--offline=true", path).CombinedOutput()
			m := score.FindSubmatch(out)
			if m == nil {
				t.Fatalf("systemd-analyze security: %v\n%s", err, out)
			}
			if s, _ := strconv.ParseFloat(string(m[1]), 64); s > maxExposure {
				t.Errorf("exposure %.1f, want at most %.1f:\n%s", s, maxExposure, out)
			}
			if !strings.Contains(string(b), "DynamicUser=yes") {
				t.Error("the daemon runs as a fixed user: use DynamicUser")
			}
		})
	}
}
