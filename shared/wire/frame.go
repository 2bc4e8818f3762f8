package wire

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxHeader bounds a JSON header; MaxChunk bounds one put chunk.
const (
	MaxHeader = 64 << 10
	MaxChunk  = 1 << 20
)

const (
	statusOK  = 0
	statusErr = 1
)

// ErrFrame is wrapped by every malformed-frame error.
var ErrFrame = errors.New("dstor/1: malformed frame")

// writeFrame writes kind, then the JSON of v with its length, in one Write.
func writeFrame(w io.Writer, kind byte, v any) error {
	return writeBlock(w, []byte{kind}, v)
}

// writeBlock writes prefix, then the JSON of v with its length, in one Write.
func writeBlock(w io.Writer, prefix []byte, v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(js) > MaxHeader {
		return fmt.Errorf("%w: header of %d bytes", ErrFrame, len(js))
	}
	buf := make([]byte, 0, len(prefix)+binary.MaxVarintLen64+len(js))
	buf = append(buf, prefix...)
	buf = binary.AppendUvarint(buf, uint64(len(js)))
	buf = append(buf, js...)
	_, err = w.Write(buf)
	return err
}

// readFrame reads a kind byte and a JSON header, returning the raw JSON.
func readFrame(r *bufio.Reader) (byte, []byte, error) {
	kind, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	js, err := readBlock(r)
	return kind, js, err
}

// readBlock reads a length-prefixed header body.
func readBlock(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("%w: header length: %v", ErrFrame, noEOF(err))
	}
	if n > MaxHeader {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrFrame, n)
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFrame, noEOF(err))
	}
	return js, nil
}

func decode(js []byte, v any) error {
	if err := json.Unmarshal(js, v); err != nil {
		return fmt.Errorf("%w: %v", ErrFrame, err)
	}
	return nil
}

// noEOF turns a clean EOF inside a frame into an unexpected one.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readResponse reads a response frame into v, or returns the peer's *Error.
func readResponse(r *bufio.Reader, v any) error {
	status, js, err := readFrame(r)
	if err != nil {
		return noEOF(err)
	}
	switch status {
	case statusOK:
		return decode(js, v)
	case statusErr:
		e := new(Error)
		if err := decode(js, e); err != nil {
			return err
		}
		return e
	}
	return fmt.Errorf("%w: status %d", ErrFrame, status)
}
