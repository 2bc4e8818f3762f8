package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestKeyPair(t *testing.T) {
	ca := newTestCA(t)
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	certPEM, err := ca.Issue(pub, RoleNode, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		certPEM   []byte
		key       ed25519.PrivateKey
		wantErr   string
		wantChain int
	}{
		{"matching", certPEM, key, "", 1},
		{"with CA appended", append(bytes.Clone(certPEM), ca.CertPEM...), key, "", 2},
		{"other key", certPEM, newKey(t), "does not match", 0},
		{"short key", certPEM, key[:32], "private key is 32 bytes", 0},
		{"no PEM", []byte("junk"), key, "no CERTIFICATE", 0},
		{"CA cert (ecdsa)", ca.CertPEM, key, "does not match", 0},
		{"corrupt DER", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), key, "key pair", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := KeyPair(tt.certPEM, tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(kp.Certificate) != tt.wantChain {
				t.Errorf("chain length %d, want %d", len(kp.Certificate), tt.wantChain)
			}
			if kp.Leaf == nil || kp.Leaf.Subject.CommonName != ID(pub) {
				t.Errorf("Leaf not set to the issued certificate")
			}
			if k, ok := kp.PrivateKey.(ed25519.PrivateKey); !ok || !k.Equal(tt.key) {
				t.Errorf("PrivateKey not set to the key")
			}
		})
	}
}

// handshakeResult records both ends of one TLS connection.
type handshakeResult struct {
	serverErr   error
	serverState tls.ConnectionState
	clientErr   error
	clientState tls.ConnectionState
}

// handshake runs one TLS connection over loopback TCP. After a successful
// handshake the server writes one byte that the client reads, so a client
// certificate refused by the server (reported after the client's TLS 1.3
// handshake has finished) surfaces as a client error too.
func handshake(t *testing.T, serverConf, clientConf *tls.Config) handshakeResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)

	type serverResult struct {
		err   error
		state tls.ConnectionState
	}
	done := make(chan serverResult, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- serverResult{err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(deadline)
		tc := tls.Server(conn, serverConf)
		err = tc.Handshake()
		if err == nil {
			_, err = tc.Write([]byte{1})
		}
		done <- serverResult{err: err, state: tc.ConnectionState()}
	}()

	var res handshakeResult
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(deadline)
	tc := tls.Client(conn, clientConf)
	res.clientErr = tc.Handshake()
	if res.clientErr == nil {
		_, res.clientErr = io.ReadFull(tc, make([]byte, 1))
	}
	res.clientState = tc.ConnectionState()
	_ = conn.Close()
	s := <-done
	res.serverErr, res.serverState = s.err, s.state
	return res
}

func TestHandshake(t *testing.T) {
	ca := newTestCA(t)
	otherCA := newTestCA(t)
	pool := ca.Pool()

	gateway := newDaemon(t, ca, RoleGateway, "127.0.0.1", "localhost")
	node := newDaemon(t, ca, RoleNode, "127.0.0.1", "localhost")
	foreignGateway := newDaemon(t, otherCA, RoleGateway, "127.0.0.1")
	foreignNode := newDaemon(t, otherCA, RoleNode, "127.0.0.1")

	public := []string{"h3", "h2", "http/1.1"}
	mtls := []string{"dstor/1"}
	nodeServer := ServerConfig(node.cert, pool, public, mtls)

	// alwaysSend forces cfg to present cert whatever CAs the server hints.
	alwaysSend := func(cfg *tls.Config, cert tls.Certificate) *tls.Config {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		}
		return cfg
	}

	tests := []struct {
		name          string
		server        *tls.Config
		client        *tls.Config
		wantServerErr string // "" means the server must succeed
		wantClientErr string // "" means the client must succeed
		wantProto     string
		wantPeer      *Peer // client identity the server must see; nil means none
	}{
		{
			name:      "a mtls between CA-issued certs",
			server:    nodeServer,
			client:    ClientConfig(gateway.cert, pool, "dstor/1", Peer{Role: RoleNode, ID: node.peer.ID}),
			wantProto: "dstor/1",
			wantPeer:  &gateway.peer,
		},
		{
			name:      "mtls with any id of the wanted role",
			server:    nodeServer,
			client:    ClientConfig(gateway.cert, pool, "dstor/1", Peer{Role: RoleNode}),
			wantProto: "dstor/1",
			wantPeer:  &gateway.peer,
		},
		{
			name:          "b client cert from another CA is refused",
			server:        nodeServer,
			client:        alwaysSend(ClientConfig(foreignGateway.cert, pool, "dstor/1", Peer{Role: RoleNode}), foreignGateway.cert),
			wantServerErr: "unknown authority",
			wantClientErr: "unknown certificate authority",
		},
		{
			name:          "b' client cert from another CA, default client cert selection",
			server:        nodeServer,
			client:        &tls.Config{Certificates: []tls.Certificate{foreignGateway.cert}, RootCAs: pool, ServerName: "127.0.0.1", NextProtos: mtls, MinVersion: tls.VersionTLS13},
			wantServerErr: "certificate",
			wantClientErr: "certificate",
		},
		{
			name:          "c client without cert offering dstor/1 is refused",
			server:        nodeServer,
			client:        &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: mtls, MinVersion: tls.VersionTLS13},
			wantServerErr: "client didn't provide a certificate",
			wantClientErr: "certificate required",
		},
		{
			name:          "c' client without cert offering h2 and dstor/1 is refused",
			server:        nodeServer,
			client:        &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"h2", "dstor/1"}, MinVersion: tls.VersionTLS13},
			wantServerErr: "client didn't provide a certificate",
			wantClientErr: "certificate required",
		},
		{
			name:      "d public h2 client verifies the IP SAN",
			server:    nodeServer,
			client:    &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"h2"}},
			wantProto: "h2",
		},
		{
			name:      "public http/1.1 client verifies the DNS SAN",
			server:    nodeServer,
			client:    &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}},
			wantProto: "http/1.1",
		},
		{
			name:          "public client checks hostnames",
			server:        nodeServer,
			client:        &tls.Config{RootCAs: pool, ServerName: "10.9.9.9", NextProtos: []string{"h2"}},
			wantServerErr: "bad certificate",
			wantClientErr: "10.9.9.9",
		},
		{
			name:          "public client offering an unknown protocol only",
			server:        nodeServer,
			client:        &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"spdy/1"}},
			wantServerErr: "unsupported application protocols",
			wantClientErr: "no application protocol",
		},
		{
			name:          "e wrong want.ID",
			server:        nodeServer,
			client:        ClientConfig(gateway.cert, pool, "dstor/1", Peer{Role: RoleNode, ID: gateway.peer.ID}),
			wantServerErr: "bad certificate",
			wantClientErr: "want id",
		},
		{
			name:          "f wrong role",
			server:        nodeServer,
			client:        ClientConfig(gateway.cert, pool, "dstor/1", Peer{Role: RoleAuditor, ID: node.peer.ID}),
			wantServerErr: "bad certificate",
			wantClientErr: "want role",
		},
		{
			name:          "empty wanted role matches nothing",
			server:        nodeServer,
			client:        ClientConfig(gateway.cert, pool, "dstor/1", Peer{}),
			wantServerErr: "bad certificate",
			wantClientErr: "want role",
		},
		{
			name:          "server cert from another CA is refused by ClientConfig",
			server:        ServerConfig(foreignNode.cert, pool, public, mtls),
			client:        ClientConfig(gateway.cert, pool, "dstor/1", Peer{Role: RoleNode}),
			wantServerErr: "bad certificate",
			wantClientErr: "unknown authority",
		},
		{
			name:          "ClientConfig requires its protocol to be negotiated",
			server:        ServerConfig(node.cert, pool, nil, nil),
			client:        ClientConfig(gateway.cert, pool, "dstor/1", Peer{Role: RoleNode}),
			wantServerErr: "bad certificate",
			wantClientErr: `negotiated protocol "", want "dstor/1"`,
		},
		{
			name:          "nil server pool trusts no client",
			server:        ServerConfig(node.cert, nil, public, mtls),
			client:        ClientConfig(gateway.cert, pool, "dstor/1", Peer{Role: RoleNode}),
			wantServerErr: "unknown authority",
			wantClientErr: "unknown certificate authority",
		},
		{
			name:          "nil client pool trusts no server",
			server:        nodeServer,
			client:        ClientConfig(gateway.cert, nil, "dstor/1", Peer{Role: RoleNode}),
			wantServerErr: "bad certificate",
			wantClientErr: "unknown authority",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := handshake(t, tt.server, tt.client)
			checkErr(t, "server", res.serverErr, tt.wantServerErr)
			checkErr(t, "client", res.clientErr, tt.wantClientErr)
			if tt.wantServerErr != "" || tt.wantClientErr != "" {
				return
			}
			if res.clientState.Version != tls.VersionTLS13 {
				t.Errorf("version %x, want TLS 1.3", res.clientState.Version)
			}
			if got := res.clientState.NegotiatedProtocol; got != tt.wantProto {
				t.Errorf("client negotiated %q, want %q", got, tt.wantProto)
			}
			if got := res.serverState.NegotiatedProtocol; got != tt.wantProto {
				t.Errorf("server negotiated %q, want %q", got, tt.wantProto)
			}
			serverPeer, err := PeerOf(res.clientState.PeerCertificates[0])
			if err != nil || serverPeer != node.peer {
				t.Errorf("client sees server %+v (%v), want %+v", serverPeer, err, node.peer)
			}
			certs := res.serverState.PeerCertificates
			if tt.wantPeer == nil {
				if len(certs) != 0 {
					t.Errorf("server got %d client certificates, want none", len(certs))
				}
				return
			}
			if len(certs) == 0 {
				t.Fatal("server got no client certificate")
			}
			if len(res.serverState.VerifiedChains) == 0 {
				t.Error("server did not verify the client chain")
			}
			got, err := PeerOf(certs[0])
			if err != nil || got != *tt.wantPeer {
				t.Errorf("server sees client %+v (%v), want %+v", got, err, *tt.wantPeer)
			}
		})
	}
}

func checkErr(t *testing.T, side string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: unexpected error: %v", side, err)
	case want != "" && err == nil:
		t.Errorf("%s: succeeded, want error containing %q", side, want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("%s: error %q, want containing %q", side, err, want)
	}
}

func TestServerConfigProtocols(t *testing.T) {
	ca := newTestCA(t)
	node := newDaemon(t, ca, RoleNode, "127.0.0.1")
	cfg := ServerConfig(node.cert, ca.Pool(), []string{"h3", "h2"}, []string{"dstor/1"})
	tests := []struct {
		name       string
		offered    []string
		wantProtos []string
		wantAuth   tls.ClientAuthType
	}{
		{"dstor only", []string{"dstor/1"}, []string{"dstor/1"}, tls.RequireAndVerifyClientCert},
		{"dstor among others", []string{"h3", "dstor/1"}, []string{"dstor/1"}, tls.RequireAndVerifyClientCert},
		{"h3", []string{"h3"}, []string{"h3", "h2"}, tls.NoClientCert},
		{"no ALPN", nil, []string{"h3", "h2"}, tls.NoClientCert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cfg.MinVersion != tls.VersionTLS13 {
				t.Errorf("outer MinVersion %x", cfg.MinVersion)
			}
			got, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{SupportedProtos: tt.offered})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.NextProtos, ",") != strings.Join(tt.wantProtos, ",") {
				t.Errorf("NextProtos = %v, want %v", got.NextProtos, tt.wantProtos)
			}
			if got.ClientAuth != tt.wantAuth {
				t.Errorf("ClientAuth = %v, want %v", got.ClientAuth, tt.wantAuth)
			}
			if got.MinVersion != tls.VersionTLS13 {
				t.Errorf("MinVersion %x, want TLS 1.3", got.MinVersion)
			}
			if tt.wantAuth == tls.RequireAndVerifyClientCert && (got.ClientCAs == nil || got.VerifyConnection == nil) {
				t.Error("mTLS config lacks ClientCAs or VerifyConnection")
			}
		})
	}
}

func TestClientConfigFields(t *testing.T) {
	ca := newTestCA(t)
	gw := newDaemon(t, ca, RoleGateway)
	tests := []struct {
		name      string
		alpn      string
		wantProto []string
	}{
		{"dstor", "dstor/1", []string{"dstor/1"}},
		{"no alpn", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ClientConfig(gw.cert, ca.Pool(), tt.alpn, Peer{Role: RoleNode})
			if cfg.MinVersion != tls.VersionTLS13 || !cfg.InsecureSkipVerify || cfg.VerifyConnection == nil {
				t.Errorf("MinVersion %x InsecureSkipVerify %v VerifyConnection set %v", cfg.MinVersion, cfg.InsecureSkipVerify, cfg.VerifyConnection != nil)
			}
			if strings.Join(cfg.NextProtos, ",") != strings.Join(tt.wantProto, ",") {
				t.Errorf("NextProtos = %q, want %q", cfg.NextProtos, tt.wantProto)
			}
			c, err := cfg.GetClientCertificate(&tls.CertificateRequestInfo{})
			if err != nil || c == nil || c.Leaf == nil || !c.Leaf.Equal(gw.cert.Leaf) {
				t.Errorf("GetClientCertificate = %v, %v; want our certificate", c, err)
			}
			// With no server certificates, verification must fail closed.
			if err := cfg.VerifyConnection(tls.ConnectionState{}); err == nil {
				t.Error("VerifyConnection accepted a server without certificates")
			}
		})
	}
}
