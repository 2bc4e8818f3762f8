// Package wire is dStor's internal protocol, ALPN "dstor/1", spoken over
// QUIC with mutual TLS between gateways, nodes and auditors.
//
// Every request is one bidirectional QUIC stream. The client writes a
// request frame, an op byte and a length-prefixed JSON header, then an
// op-specific body; the server answers with a response frame, a status byte
// and a length-prefixed JSON header, then an op-specific body, and closes
// its side. Blob bytes never travel inside JSON: a put streams them as
// length-prefixed chunks ending in an empty chunk and a trailer frame, and a
// get streams them raw until the end of the stream. A peer fetch's get
// asks for a lead before the bytes: the head of the outboard tree and the
// first group's chunk values, whose lengths its response header gives.
//
//	request   = op:u8 hlen:uvarint header:JSON body
//	response  = status:u8 hlen:uvarint header:JSON body
//	put body  = { n:uvarint bytes[n] } 0:uvarint hlen:uvarint trailer:JSON
//	get body  = outboard[Outboard] chunks[Chunks] bytes[Length]
package wire

// ALPN is the TLS application protocol of this wire protocol.
const ALPN = "dstor/1"

// Op names a request.
type Op uint8

// The requests of dstor/1.
const (
	OpPing      Op = 1  // node status; gateways probe with it
	OpPut       Op = 2  // store a blob streamed in chunks (PutRequest, PutTrailer)
	OpGet       Op = 3  // read a byte range of a blob (GetRequest)
	OpOutboard  Op = 4  // read a blob's Bao outboard tree (BlobRequest)
	OpHas       Op = 5  // whether a node holds a blob (BlobRequest)
	OpHolders   Op = 6  // ask a gateway which nodes hold a blob (BlobRequest)
	OpReport    Op = 7  // tell a gateway a copy failed verification (Report)
	OpPull      Op = 8  // order a node to fetch a blob from its holders and keep it (PullRequest)
	OpChallenge Op = 9  // ask a node to prove it stores a blob (ChallengeRequest; challenge.go)
	OpServed    Op = 10 // take a node's bytes served per blob since the last take (ServedReport); auditors only
	OpDelete    Op = 11 // delete an unpinned blob's copy unless committed since (DeleteRequest, DeleteResponse)
)

func (o Op) String() string {
	switch o {
	case OpPing:
		return "ping"
	case OpPull:
		return "pull"
	case OpChallenge:
		return "challenge"
	case OpPut:
		return "put"
	case OpGet:
		return "get"
	case OpOutboard:
		return "outboard"
	case OpHas:
		return "has"
	case OpHolders:
		return "holders"
	case OpReport:
		return "report"
	case OpServed:
		return "served"
	case OpDelete:
		return "delete"
	}
	return "op?"
}
