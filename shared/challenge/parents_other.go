//go:build !amd64 || purego

package challenge

func compressParents8(out *[8][8]uint32, in *[16][8]uint32, flags uint32) {
	compressParentsGeneric(out, in, flags)
}
