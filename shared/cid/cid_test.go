package cid

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestSumKnown(t *testing.T) {
	got := Sum([]byte("hello\n")).String()
	want := "bafkr4ieojr6bxgo37viopkkrqx7k2xxbish2sbfc7xlxr2xv6ln72yu2te"
	if got != want {
		t.Fatalf("Sum(hello\\n) = %s, want %s", got, want)
	}
}

func TestSumMatchesB3sum(t *testing.T) {
	if _, err := exec.LookPath("b3sum"); err != nil {
		t.Skip("b3sum not installed")
	}
	for _, n := range []int{0, 1, 1024, 16385} {
		data := bytes.Repeat([]byte{byte(n)}, n)
		cmd := exec.Command("b3sum", "--no-names")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		c := Sum(data)
		d := c.Digest()
		if hexOf(d[:]) != strings.TrimSpace(string(out)) {
			t.Errorf("%d bytes: digest %x, b3sum %s", n, d, out)
		}
		r, m, err := SumReader(bytes.NewReader(data))
		if err != nil || r != c || m != int64(n) {
			t.Errorf("%d bytes: SumReader = %v %d %v, want %v", n, r, m, err, c)
		}
	}
}

func hexOf(b []byte) string {
	const h = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, h[c>>4], h[c&15])
	}
	return string(out)
}

func TestParse(t *testing.T) {
	good := "bafkr4ieojr6bxgo37viopkkrqx7k2xxbish2sbfc7xlxr2xv6ln72yu2te"
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"canonical", good, true},
		{"empty", "", false},
		{"garbage", "notacid", false},
		{"upper base32", "B" + strings.ToUpper(good[1:]), false},
		{"base58 cidv0 sha256", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", false},
		{"cidv1 dag-pb sha256", "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", false},
		{"raw sha256", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", false},
		{"truncated", good[:58], false},
		{"trailing char", good + "a", false},
		{"base36", "k2jmtxu61bnhrq9w8ru3clzrtdbumnf06ygjvfa0wy4mv2b6ejcpwk3t", false},
		{"inner space", good[:20] + " " + good[21:], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("Parse(%q) = %v", tc.in, err)
				}
				if c.String() != tc.in || !c.Defined() {
					t.Fatalf("round trip %q -> %q", tc.in, c.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%q) accepted %v", tc.in, c)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestTextRoundTrip(t *testing.T) {
	c := Sum([]byte("x"))
	b, _ := c.MarshalText()
	var d CID
	if err := d.UnmarshalText(b); err != nil || d != c {
		t.Fatalf("UnmarshalText(%s) = %v, %v", b, d, err)
	}
	if (CID{}).String() != "" || (CID{}).Defined() {
		t.Fatal("zero CID should be undefined and print empty")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("bafkr4ieojr6bxgo37viopkkrqx7k2xxbish2sbfc7xlxr2xv6ln72yu2te")
	f.Add("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, c.String())
		}
		again, err := Parse(c.String())
		if err != nil || again != c {
			t.Fatalf("re-parse of %q failed: %v", s, err)
		}
		if slow, err := parseSlow(s); err != nil || slow != c {
			t.Fatalf("go-cid refuses %q that the fast path accepts: %v", s, err)
		}
	})
}

// TestAgreesWithGoCID holds the direct encoder and decoder equal to go-cid
// on many digests.
func TestAgreesWithGoCID(t *testing.T) {
	for i := range 2000 {
		var d [DigestSize]byte
		for j := range d {
			d[j] = byte(i*31 + j*i + j)
		}
		c := FromDigest(d)
		if got, want := c.String(), c.gocid().String(); got != want {
			t.Fatalf("String %s, go-cid %s", got, want)
		}
		slow, err := parseSlow(c.String())
		if err != nil || slow != c {
			t.Fatalf("go-cid parse of %s: %v", c, err)
		}
	}
}
