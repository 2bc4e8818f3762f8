package identity

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// uriScheme is the scheme of the URI SAN that carries a daemon's identity.
const uriScheme = "dstor"

// Peer is the verified identity of the other end of a connection.
type Peer struct {
	// Role is the peer's kind of daemon.
	Role Role
	// ID is the peer's id, [ID] of its ed25519 public key.
	ID string
}

// peerURI returns the URI SAN "dstor://<role>/<id>" for p.
func peerURI(p Peer) *url.URL {
	return &url.URL{Scheme: uriScheme, Host: string(p.Role), Path: "/" + p.ID}
}

// PeerOf extracts role and id from a verified leaf certificate's
// "dstor://<role>/<id>" URI SAN. It fails if the SAN is absent, repeated or
// malformed, if the role is unknown, if the CN differs from the id, or if
// the id is not [ID] of the certificate's ed25519 public key. PeerOf does
// not verify the certificate chain; callers pass an already verified leaf.
func PeerOf(leaf *x509.Certificate) (Peer, error) {
	if leaf == nil {
		return Peer{}, errors.New("identity: peer: no certificate")
	}
	var found *url.URL
	for _, u := range leaf.URIs {
		if u.Scheme != uriScheme {
			continue
		}
		if found != nil {
			return Peer{}, errors.New("identity: peer: more than one dstor URI SAN")
		}
		found = u
	}
	if found == nil {
		return Peer{}, errors.New("identity: peer: no dstor URI SAN")
	}
	p, err := parsePeerURI(found)
	if err != nil {
		return Peer{}, err
	}
	if cn := leaf.Subject.CommonName; cn != p.ID {
		return Peer{}, fmt.Errorf("identity: peer: CN %q differs from id %q", cn, p.ID)
	}
	pub, ok := leaf.PublicKey.(ed25519.PublicKey)
	if !ok {
		return Peer{}, fmt.Errorf("identity: peer: public key is %T, want ed25519", leaf.PublicKey)
	}
	if got := ID(pub); got != p.ID {
		return Peer{}, fmt.Errorf("identity: peer: id %q does not match public key (id %q)", p.ID, got)
	}
	return p, nil
}

// parsePeerURI parses "dstor://<role>/<id>", accepting nothing else.
func parsePeerURI(u *url.URL) (Peer, error) {
	if u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || u.RawPath != "" {
		return Peer{}, fmt.Errorf("identity: peer: malformed URI SAN %q", u)
	}
	role := Role(u.Host)
	if !validRole(role) {
		return Peer{}, fmt.Errorf("identity: peer: unknown role %q in URI SAN %q", u.Host, u)
	}
	id, ok := strings.CutPrefix(u.Path, "/")
	if !ok || !validID(id) {
		return Peer{}, fmt.Errorf("identity: peer: malformed id in URI SAN %q", u)
	}
	return Peer{Role: role, ID: id}, nil
}
