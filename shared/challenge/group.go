package challenge

import "encoding/binary"

func bytesToCV(b []byte) (cv [8]uint32) {
	loadCV(&cv, b)
	return cv
}

// loadCV sets cv to the chaining value in the 32 bytes of b.
func loadCV(cv *[8]uint32, b []byte) {
	_ = b[31]
	for i := range cv {
		cv[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
}
