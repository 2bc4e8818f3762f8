package httpblob

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		name          string
		h             string
		size          int64
		start, length int64
		ok            bool
		unsat         bool
	}{
		{"none", "", 100, 0, 0, false, false},
		{"first hundred", "bytes=0-99", 1000, 0, 100, true, false},
		{"middle", "bytes=100-199", 1000, 100, 100, true, false},
		{"open end", "bytes=900-", 1000, 900, 100, true, false},
		{"suffix", "bytes=-10", 1000, 990, 10, true, false},
		{"suffix longer than blob", "bytes=-5000", 1000, 0, 0, false, false},
		{"end clipped", "bytes=990-5000", 1000, 990, 10, true, false},
		{"whole", "bytes=0-999", 1000, 0, 0, false, false},
		{"past end", "bytes=1000-", 1000, 0, 0, false, true},
		{"past end far", "bytes=5000-6000", 1000, 0, 0, false, true},
		{"empty blob", "bytes=0-", 0, 0, 0, false, true},
		{"zero suffix", "bytes=-0", 1000, 0, 0, false, true},
		{"multi ignored", "bytes=0-1,5-6", 1000, 0, 0, false, false},
		{"inverted ignored", "bytes=9-1", 1000, 0, 0, false, false},
		{"junk ignored", "bytes=a-b", 1000, 0, 0, false, false},
		{"sign ignored", "bytes=+1-2", 1000, 0, 0, false, false},
		{"other unit ignored", "items=0-1", 1000, 0, 0, false, false},
		{"no dash ignored", "bytes=5", 1000, 0, 0, false, false},
		{"overflow ignored", "bytes=99999999999999999999-", 1000, 0, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, l, ok, err := ParseRange(tc.h, tc.size)
			if errors.Is(err, ErrUnsatisfiable) != tc.unsat {
				t.Fatalf("err = %v, want unsatisfiable %v", err, tc.unsat)
			}
			if ok != tc.ok || s != tc.start || l != tc.length {
				t.Fatalf("ParseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", tc.h, tc.size, s, l, ok, tc.start, tc.length, tc.ok)
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-99", "bytes=-5", "bytes=7-", "bytes=0-1,2-3", "bytes=x"} {
		f.Add(s, int64(1000))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return
		}
		s, l, ok, err := ParseRange(h, size)
		if err != nil || !ok {
			return
		}
		if s < 0 || l <= 0 || s+l > size || (s == 0 && l == size) {
			t.Fatalf("ParseRange(%q, %d) = %d+%d outside the blob", h, size, s, l)
		}
	})
}

func TestDateCache(t *testing.T) {
	var d DateCache
	h := http.Header{}
	d.Set(h)
	got, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		t.Fatalf("Date %q: %v", h.Get("Date"), err)
	}
	if diff := time.Since(got); diff < -time.Second || diff > 2*time.Second {
		t.Fatalf("Date %v is %v away from now", got, diff)
	}
}
