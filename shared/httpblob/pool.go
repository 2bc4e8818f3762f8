package httpblob

import "sync"

// bufPool holds copy buffers so a read allocates nothing proportional to
// the blob.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}
