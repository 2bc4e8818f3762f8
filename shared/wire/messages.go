package wire

import "dstor/shared/cid"

// Status is a node's answer to a ping: who it is and how it is doing.
type Status struct {
	ID       string `json:"id"`
	Region   string `json:"region"`
	Capacity int64  `json:"capacity"` // bytes of the store's filesystem
	Free     int64  `json:"free"`     // bytes free on it
	Blobs    int64  `json:"blobs"`    // blobs held
	InFlight int64  `json:"in_flight"`
}

// PutRequest opens an upload. Size is the announced length, or -1 when the
// sender does not know it yet; a known size that the chunks do not match
// fails the put.
type PutRequest struct {
	Size int64 `json:"size"`
}

// PutTrailer follows the last chunk: the CID the sender computed. The
// receiver commits only if its own digest matches.
type PutTrailer struct {
	CID cid.CID `json:"cid"`
}

// PutResponse confirms a durable commit.
type PutResponse struct {
	CID  cid.CID `json:"cid"`
	Size int64   `json:"size"`
}

// GetRequest asks for Length bytes at Offset; Length -1 means to the end.
type GetRequest struct {
	CID    cid.CID `json:"cid"`
	Offset int64   `json:"offset"`
	Length int64   `json:"length"`
}

// GetResponse precedes the range's bytes: Size is the whole blob's length,
// Length the number of bytes that follow.
type GetResponse struct {
	Size   int64 `json:"size"`
	Length int64 `json:"length"`
}

// BlobRequest names one blob (OpOutboard, OpHas, OpHolders).
type BlobRequest struct {
	CID cid.CID `json:"cid"`
}

// OutboardResponse precedes the outboard bytes: Size is the blob's length,
// Length the outboard's.
type OutboardResponse = GetResponse

// HasResponse answers OpHas.
type HasResponse struct {
	Has  bool  `json:"has"`
	Size int64 `json:"size"`
}

// Holder is a node that holds a blob.
type Holder struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	URL    string `json:"url"`
	Up     bool   `json:"up"` // the gateway's probes see it live
}

// HoldersResponse answers OpHolders; live holders come first.
type HoldersResponse struct {
	Size    int64    `json:"size"`
	Holders []Holder `json:"holders"`
}
