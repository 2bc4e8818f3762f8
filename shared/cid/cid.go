// Package cid is dStor's content address: an IPFS CIDv1 with codec raw
// (0x55), multihash BLAKE3-256 (0x1e) and base32 lower multibase, the form
// `bafkr4i...`. It equals what one derives from `b3sum` of the same bytes.
//
// Parse accepts only that one canonical form; every other CID, multibase,
// codec or hash is an error, so a CID string names exactly one blob and one
// file path.
package cid

import (
	"encoding/base32"
	"errors"
	"fmt"
	"io"

	gocid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"github.com/zeebo/blake3"
)

// Multicodec and multihash codes of the only accepted CID shape.
const (
	CodecRaw   = 0x55
	HashBLAKE3 = 0x1e
	DigestSize = 32
)

// ErrInvalid is wrapped by every Parse error.
var ErrInvalid = errors.New("invalid cid")

// CID is a content address. The zero value is not a valid CID; use Sum,
// FromDigest or Parse. CIDs are comparable and usable as map keys.
type CID struct {
	digest [DigestSize]byte
	valid  bool
}

// FromDigest returns the CID of the blob whose BLAKE3-256 digest is d.
func FromDigest(d [DigestSize]byte) CID { return CID{digest: d, valid: true} }

// Sum returns the CID of data.
func Sum(data []byte) CID { return FromDigest(blake3.Sum256(data)) }

// SumReader returns the CID of everything r yields and the byte count.
func SumReader(r io.Reader) (CID, int64, error) {
	h := blake3.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return CID{}, n, err
	}
	var d [DigestSize]byte
	h.Sum(d[:0])
	return FromDigest(d), n, nil
}

// Digest returns the BLAKE3-256 digest the CID names.
func (c CID) Digest() [DigestSize]byte { return c.digest }

// Defined reports whether c is a real CID rather than the zero value.
func (c CID) Defined() bool { return c.valid }

// String returns the canonical base32 form (`bafkr4i...`), or "" for the
// zero value. It is on every read's path, so it encodes directly; a test
// holds it equal to go-cid's encoding.
func (c CID) String() string {
	if !c.valid {
		return ""
	}
	var raw [prefixLen + DigestSize]byte
	copy(raw[:], prefix)
	copy(raw[prefixLen:], c.digest[:])
	var out [maxLen]byte
	out[0] = 'b' // multibase base32 lower
	b32.Encode(out[1:], raw[:])
	return string(out[:])
}

// gocid is the go-cid form, the reference for String and Parse.
func (c CID) gocid() gocid.Cid {
	// Encode cannot fail for a known code and a 32-byte digest.
	m, err := mh.Encode(c.digest[:], HashBLAKE3)
	if err != nil {
		panic(err)
	}
	return gocid.NewCidV1(CodecRaw, m)
}

// MarshalText implements encoding.TextMarshaler.
func (c CID) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with Parse's rules.
func (c *CID) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*c = p
	return nil
}

// maxLen is the length of every canonical CID string: "b" and base32 of
// 36 bytes (version, codec, hash code, length, digest) without padding.
const maxLen = 59

// prefix is the binary CID before the digest: version 1, codec raw,
// multihash blake3, digest length 32.
const (
	prefix    = "\x01\x55\x1e\x20"
	prefixLen = len(prefix)
)

// b32 is multibase base32 lower, without padding.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Parse decodes s, accepting only the canonical CIDv1 raw BLAKE3-256 base32
// lower form. Anything else yields an error wrapping ErrInvalid.
func Parse(s string) (CID, error) {
	if len(s) != maxLen {
		return CID{}, fmt.Errorf("%w: want a %d-character bafkr4i... CIDv1 (raw, blake3), got %d characters", ErrInvalid, maxLen, len(s))
	}
	// The fast path: the one accepted shape, decoded directly.
	var raw [prefixLen + DigestSize]byte
	if s[0] == 'b' {
		if n, err := b32.Decode(raw[:], []byte(s[1:])); err == nil && n == len(raw) && string(raw[:prefixLen]) == prefix {
			c := FromDigest([DigestSize]byte(raw[prefixLen:]))
			if c.String() == s {
				return c, nil
			}
		}
	}
	// Everything else is refused; go-cid says precisely why.
	return parseSlow(s)
}

// parseSlow is Parse through go-cid.
func parseSlow(s string) (CID, error) {
	c, err := gocid.Decode(s)
	if err != nil {
		return CID{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Version() != 1 {
		return CID{}, fmt.Errorf("%w: version %d, want 1", ErrInvalid, c.Version())
	}
	if c.Type() != CodecRaw {
		return CID{}, fmt.Errorf("%w: codec 0x%x, want raw (0x55)", ErrInvalid, c.Type())
	}
	dm, err := mh.Decode(c.Hash())
	if err != nil {
		return CID{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dm.Code != HashBLAKE3 || dm.Length != DigestSize || len(dm.Digest) != DigestSize {
		return CID{}, fmt.Errorf("%w: multihash 0x%x/%d, want blake3 (0x1e) of 32 bytes", ErrInvalid, dm.Code, dm.Length)
	}
	var d [DigestSize]byte
	copy(d[:], dm.Digest)
	out := FromDigest(d)
	if out.gocid().String() != s {
		return CID{}, fmt.Errorf("%w: not in canonical base32 lower form", ErrInvalid)
	}
	return out, nil
}
