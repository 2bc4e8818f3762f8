package proof

import (
	"errors"
	"fmt"
	"io"
	"math/bits"

	"lukechampine.com/blake3/guts"
)

// Stream verifies the whole blob as it arrives in order from src (a peer's
// stream) and writes it to dst in verified batches of whole groups. The
// first batch is one group, so the first byte is out as soon as its group
// is in; each batch after that may be twice the one before, up to
// len(buf), so a long transfer costs few writes and few walks of the
// tree. The outboard reader may block until the tree nodes asked for have
// arrived: a batch needs only nodes that precede the data it covers in
// the pre-order layout. buf must hold at least one group (whole groups of
// it are used). As with Range, dst receives only verified bytes; a
// mismatch stops Stream with an error wrapping ErrMismatch, and a src that
// ends early with io.ErrUnexpectedEOF.
func (v *Verifier) Stream(dst io.Writer, src io.Reader, buf []byte) error {
	buf = buf[:len(buf)/GroupSize*GroupSize]
	if len(buf) == 0 {
		return errors.New("proof: scratch buffer smaller than a group")
	}
	if v.size == 0 {
		n := compressGroup(nil, 0)
		n.Flags |= guts.FlagRoot
		if guts.ChainingValue(n) != v.root {
			return fmt.Errorf("%w: empty blob", ErrMismatch)
		}
		return nil
	}
	return v.stream(dst, src, buf, 0, GroupSize)
}

// stream is Stream from blob offset pos, a group boundary, with batch
// bytes gathered before the first check.
func (v *Verifier) stream(dst io.Writer, src io.Reader, buf []byte, pos int64, batch int) error {
	fill := 0 // bytes in buf
	for pos < v.size {
		want := int(min(int64(batch), v.size-pos))
		if fill < want {
			room := int(min(int64(len(buf)), v.size-pos))
			k, err := io.ReadAtLeast(src, buf[fill:room], want-fill)
			fill += k
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fmt.Errorf("proof: stream ended at byte %d of %d: %w", pos+int64(fill), v.size, io.ErrUnexpectedEOF)
			} else if err != nil {
				return err
			}
		}
		// Check every whole group in buf (and the blob's last, short one).
		n := fill / GroupSize * GroupSize
		if pos+int64(fill) == v.size {
			n = fill
		}
		if err := v.check(buf[:n], pos); err != nil {
			return err
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return err
		}
		fill = copy(buf, buf[n:fill])
		pos += int64(n)
		batch = min(2*batch, len(buf))
	}
	return nil
}

// ChunkCVsSize is the length of the first group's chunk chaining values
// that StreamChunked takes: 32 bytes for each of its 16 chunks.
const ChunkCVsSize = GroupSize / guts.ChunkSize * 32

// ChunkCVs appends to dst the chaining values of the chunks of group,
// which must be the whole first group of a blob longer than one group:
// ChunkCVsSize bytes. A holder sends them ahead of a fetch's bytes so the
// fetcher can release the first group a chunk at a time (StreamChunked).
// They need not be trusted: StreamChunked checks them against the tree.
func ChunkCVs(dst, group []byte) []byte {
	var b [32]byte
	for i := range len(group) / guts.ChunkSize {
		putCV(b[:], chunkCV(group, i))
		dst = append(dst, b[:]...)
	}
	return dst
}

// chunkCV is the chaining value of chunk i of the blob's first group.
func chunkCV(group []byte, i int) [8]uint32 {
	return guts.ChainingValue(guts.CompressChunk(group[i*guts.ChunkSize:(i+1)*guts.ChunkSize], &guts.IV, uint64(i), 0))
}

// StreamChunked is Stream for a blob longer than one group, given the
// chaining values of its first group's chunks (ChunkCVs, from the
// sender): it checks them against the tree, then writes the first group
// to dst a chunk (1 KiB) at a time as each arrives and checks, so the
// first byte does not wait for the whole group to cross the network. The
// rest is as Stream. Values that do not match the tree are ErrMismatch.
func (v *Verifier) StreamChunked(dst io.Writer, src io.Reader, buf []byte, cvs []byte) error {
	buf = buf[:len(buf)/GroupSize*GroupSize]
	if len(buf) == 0 {
		return errors.New("proof: scratch buffer smaller than a group")
	}
	if v.size <= GroupSize || len(cvs) != ChunkCVsSize {
		return fmt.Errorf("proof: %d bytes of chunk values for a %d-byte blob", len(cvs), v.size)
	}
	if err := v.checkChunkCVs(cvs); err != nil {
		return err
	}
	done, fill := 0, 0 // checked and written; in buf
	for done < GroupSize {
		k, err := io.ReadAtLeast(src, buf[fill:GroupSize], done+guts.ChunkSize-fill)
		fill += k
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("proof: stream ended at byte %d of %d: %w", fill, v.size, io.ErrUnexpectedEOF)
		} else if err != nil {
			return err
		}
		end := fill / guts.ChunkSize * guts.ChunkSize
		for i := done / guts.ChunkSize; i < end/guts.ChunkSize; i++ {
			if chunkCV(buf, i) != bytesToCV(cvs[32*i:]) {
				return fmt.Errorf("%w: chunk at byte %d", ErrMismatch, i*guts.ChunkSize)
			}
		}
		if _, err := dst.Write(buf[done:end]); err != nil {
			return err
		}
		done = end
	}
	return v.stream(dst, src, buf, GroupSize, min(2*GroupSize, len(buf)))
}

// FirstGroup checks group, the whole first group of a blob longer than one
// group, against the tree, and appends its chunk values (ChunkCVs) to dst.
// A holder sends both ahead of the rest of a fetch, so the fetcher can
// check and release the group a chunk at a time (StreamChunked).
func (v *Verifier) FirstGroup(dst, group []byte) ([]byte, error) {
	if v.size <= GroupSize || len(group) != GroupSize {
		return dst, fmt.Errorf("proof: a first group of %d bytes of a %d-byte blob", len(group), v.size)
	}
	out := ChunkCVs(dst, group)
	if err := v.checkChunkCVs(out[len(dst):]); err != nil {
		return dst, err
	}
	return out, nil
}

// checkChunkCVs checks the first group's chunk values against the tree.
func (v *Verifier) checkChunkCVs(cvs []byte) error {
	want, err := v.firstGroupCV()
	if err != nil {
		return err
	}
	var level [GroupSize / guts.ChunkSize][8]uint32
	for i := range level {
		level[i] = bytesToCV(cvs[32*i:])
	}
	for n := len(level); n > 1; n /= 2 {
		for i := range n / 2 {
			level[i] = guts.ChainingValue(guts.ParentNode(level[2*i], level[2*i+1], &guts.IV, 0))
		}
	}
	if level[0] != want {
		return fmt.Errorf("%w: chunk values of the first group", ErrMismatch)
	}
	return nil
}

// firstGroupCV is the chaining value the tree gives the blob's first
// group, each parent node on the way down from the root checked.
func (v *Verifier) firstGroupCV() ([8]uint32, error) {
	cv, length, obOff, flags := v.root, v.size, int64(8), uint32(guts.FlagRoot)
	var node [64]byte
	for length > GroupSize {
		if _, err := v.ob.ReadAt(node[:], obOff); err != nil {
			return cv, fmt.Errorf("proof: read outboard: %w", err)
		}
		l, r := bytesToCV(node[:32]), bytesToCV(node[32:])
		if guts.ChainingValue(guts.ParentNode(l, r, &guts.IV, flags)) != cv {
			return cv, fmt.Errorf("%w: tree node at outboard byte %d", ErrMismatch, obOff)
		}
		cv, length, obOff, flags = l, int64(1)<<(bits.Len64(uint64(length-1))-1), obOff+64, 0
	}
	return cv, nil
}
