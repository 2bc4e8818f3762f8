package proof

import (
	"errors"
	"fmt"
	"io"

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
	var pos int64      // blob offset of buf[0]
	fill := 0          // bytes in buf
	batch := GroupSize // bytes to gather before the next check
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
