package node

import "sync"

// copyBufs holds the buffers that move blob bytes between stream and disk.
var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}
