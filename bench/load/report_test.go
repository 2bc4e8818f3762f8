package load

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestVerdict(t *testing.T) {
	tests := []struct {
		name          string
		op            string
		value, target float64
		want          string
	}{
		{"at least, met", ">=", 0.9, 0.9, resultPass},
		{"at least, missed", ">=", 0.89, 0.9, resultMiss},
		{"at most, met", "<=", 3, 3, resultPass},
		{"under, on the bound", "<", 8, 8, resultMiss},
		{"exactly", "==", 1, 1, resultPass},
		{"exactly, two", "==", 2, 1, resultMiss},
		{"no target", "", 5, 1, resultInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verdict(tt.op, tt.value, tt.target); got != tt.want {
				t.Errorf("verdict(%q, %g, %g) = %s, want %s", tt.op, tt.value, tt.target, got, tt.want)
			}
		})
	}
}

func TestCheckApply(t *testing.T) {
	r := NewReport(nil)
	r.Add(Figure{Key: "base", Name: "bare", Value: 200, Unit: MBps})
	fig := Figure{Key: "f", Name: "dStor", Value: 190, Unit: MBps}
	tests := []struct {
		name  string
		check Check
		want  checked
	}{
		{"ratio met", Check{Key: "f", Against: "base", Op: ">=", Target: 0.9},
			checked{baseline: "bare", baseValue: "200.0 MB/s", ratio: "0.95x", target: ">= 0.9x", result: resultPass}},
		{"ratio missed", Check{Key: "f", Against: "base", Op: ">=", Target: 1.5},
			checked{baseline: "bare", baseValue: "200.0 MB/s", ratio: "0.95x", target: ">= 1.5x", result: resultMiss}},
		{"ratio shown only", Check{Key: "f", Against: "base"},
			checked{baseline: "bare", baseValue: "200.0 MB/s", ratio: "0.95x", target: "-", result: resultInfo}},
		{"baseline not run", Check{Key: "f", Against: "caddy", Op: ">=", Target: 3},
			checked{baseline: "caddy", baseValue: "not run", target: ">= 3x", result: resultNA}},
		{"absolute bound", Check{Key: "f", Op: "<", Target: 100},
			checked{target: "< 100.0 MB/s", result: resultMiss}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check.apply(fig, r); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReportMedianOfRounds(t *testing.T) {
	r := NewReport([]Check{{Key: "x", Op: ">=", Target: 10}})
	for _, v := range []float64{9, 30, 12} {
		r.Add(Figure{Key: "x", Name: "rate", Value: v, Unit: ReqPS, Note: "last"})
	}
	f, ok := r.Figure("x")
	if !ok || f.Value != 12 {
		t.Fatalf("Figure = %+v, %v; want the median, 12", f, ok)
	}
	if !strings.HasPrefix(f.Note, "3 rounds 9 req/s..30 req/s; last") {
		t.Errorf("note %q does not give the spread", f.Note)
	}
	var out bytes.Buffer
	r.Print(&out)
	if !strings.Contains(out.String(), "1 checks pass, 0 miss") {
		t.Errorf("summary missing:\n%s", out.String())
	}
}

func TestPercentile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var sorted []time.Duration
	for i := 1; i <= 100; i++ {
		sorted = append(sorted, ms(i))
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"p50 of 100", sorted, 0.50, ms(50)},
		{"p99 of 100", sorted, 0.99, ms(99)},
		{"p100 of 100", sorted, 1, ms(100)},
		{"p99 of 1", sorted[:1], 0.99, ms(1)},
		{"empty", nil, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.q); got != tt.want {
				t.Errorf("percentile(%g) = %s, want %s", tt.q, got, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"thousands", thousands(25103.4), "25,103"},
		{"small", thousands(7), "7"},
		{"million", thousands(1234567), "1,234,567"},
		{"GiB", sizeName(1 << 30), "1 GiB"},
		{"MiB", sizeName(256 << 20), "256 MiB"},
		{"KiB", sizeName(4 << 10), "4 KiB"},
		{"odd", sizeName(1000), "1000 B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := Defaults()
	if err := cfg.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cfg.Run = []string{"bare", "nosuch"}
	if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("unknown measurement: got %v", err)
	}
}
