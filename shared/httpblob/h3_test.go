package httpblob

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/quic-go/qpack"

	"dstor/shared/cid"
)

// TestPlainFieldLines holds the ready-made HTTP/3 header of a plain GET
// equal to the header the general path sets for the same request.
func TestPlainFieldLines(t *testing.T) {
	for _, size := range []int{0, 1, 4096, 50_000, maxH3Body} {
		data := make([]byte, size)
		b := NewBlob(cid.Sum(data), data)
		var d DateCache
		rec := httptest.NewRecorder()
		d.Set(rec.Header())
		serve(rec, httptest.NewRequest(http.MethodGet, "/ipfs/"+b.Name(), nil), &b.hd, b)
		if rec.Code != http.StatusOK {
			t.Fatalf("general path: %d", rec.Code)
		}
		want := map[string]string{":status": "200"}
		for k, v := range rec.Header() {
			want[strings.ToLower(k)] = strings.Join(v, ", ")
		}

		section := append([]byte{0, 0}, appendPrefixInt(nil, 6, 0xc0, qpStatus200)...)
		section = append(section, d.current().line...)
		section = append(section, b.h3...)
		got := map[string]string{}
		next := qpack.NewDecoder().Decode(section)
		for {
			f, err := next()
			if err != nil {
				break
			}
			if _, dup := got[f.Name]; dup {
				t.Errorf("%d bytes: field %q twice", size, f.Name)
			}
			got[f.Name] = f.Value
		}
		if len(got) != len(want) {
			t.Errorf("%d bytes: fields %v, want %v", size, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%d bytes: %s = %q, want %q", size, k, got[k], v)
			}
		}
	}
}

func TestPlainGet(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
		hdr    []string
		want   bool
	}{
		{"plain", "GET", "/ipfs/x", nil, true},
		{"head", "HEAD", "/ipfs/x", nil, false},
		{"query", "GET", "/ipfs/x?format=raw", nil, false},
		{"range", "GET", "/ipfs/x", []string{"Range", "bytes=0-1"}, false},
		{"if-none-match", "GET", "/ipfs/x", []string{"If-None-Match", `"x"`}, false},
		{"accept any", "GET", "/ipfs/x", []string{"Accept", "*/*"}, true},
		{"accept raw", "GET", "/ipfs/x", []string{"Accept", "text/html, " + RawType}, false},
		{"if-range alone", "GET", "/ipfs/x", []string{"If-Range", `"x"`}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			for i := 0; i < len(tc.hdr); i += 2 {
				r.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			if got := plainGet(r); got != tc.want {
				t.Errorf("plainGet = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAppendPrefixInt(t *testing.T) {
	// RFC 7541, C.1: 10 and 1337 with a 5-bit prefix, 42 with 8 bits.
	tests := []struct {
		n    uint
		v    uint64
		want []byte
	}{
		{5, 10, []byte{0x0a}},
		{5, 1337, []byte{0x1f, 0x9a, 0x0a}},
		{8, 42, []byte{0x2a}},
		{4, 15, []byte{0x0f, 0x00}},
	}
	for _, tc := range tests {
		if got := appendPrefixInt(nil, tc.n, 0, tc.v); string(got) != string(tc.want) {
			t.Errorf("appendPrefixInt(%d bits, %d) = %x, want %x", tc.n, tc.v, got, tc.want)
		}
	}
}
