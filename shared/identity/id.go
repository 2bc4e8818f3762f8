// Package identity provides daemon identities and TLS configuration for
// dStor.
//
// Every dStor daemon (gateway, storage node, auditor) owns an ed25519 key.
// Its stable id is derived from the public key (see [ID]), and a dev CA
// (see [LoadOrCreateCA]) issues it a certificate that binds its role and id
// in a "dstor://<role>/<id>" URI SAN. Daemons talk to each other over QUIC
// with mutual TLS (see [ServerConfig] and [ClientConfig]); public HTTPS/HTTP3
// clients verify the same server certificates against the CA by IP/DNS SAN.
package identity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// Role is the kind of a dStor daemon, as bound into its certificate.
type Role string

// The daemon roles known to dStor.
const (
	// RoleGateway is a gateway daemon, serving public clients.
	RoleGateway Role = "gateway"
	// RoleNode is a storage node daemon.
	RoleNode Role = "node"
	// RoleAuditor is an auditor daemon.
	RoleAuditor Role = "auditor"
)

// idLen is the length of an id: 128 bits in unpadded base32.
const idLen = 26

// validRole reports whether r is one of the known roles.
func validRole(r Role) bool {
	switch r {
	case RoleGateway, RoleNode, RoleAuditor:
		return true
	}
	return false
}

// ID derives a daemon's stable id from its ed25519 public key: lowercase
// base32 (no padding) of the first 16 bytes of SHA-256(pub), i.e. 26 chars.
func ID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	return strings.ToLower(enc.EncodeToString(sum[:16]))
}

// validID reports whether s has the shape of an id produced by [ID].
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}
