package node

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/iotest"
)

// writeLog records the size of every write.
type writeLog struct {
	bytes.Buffer
	sizes []int
	fail  error // returned by every write once set
}

func (w *writeLog) Write(p []byte) (int, error) {
	if w.fail != nil {
		return 0, w.fail
	}
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// errAfter yields data, then err instead of io.EOF.
type errAfter struct {
	r   io.Reader
	err error
}

func (e errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = e.err
	}
	return n, err
}

func TestCopyFull(t *testing.T) {
	data := []byte("0123456789abcdefghij") // 20 bytes
	diskFull := errors.New("disk full")
	tests := []struct {
		name    string
		src     io.Reader
		buf     int
		fail    error
		want    string
		sizes   []int
		wantErr error
	}{
		{"whole buffers from one-byte reads", iotest.OneByteReader(bytes.NewReader(data)), 8, nil, string(data), []int{8, 8, 4}, nil},
		{"exact multiple", iotest.HalfReader(bytes.NewReader(data)), 10, nil, string(data), []int{10, 10}, nil},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(data)), 64, nil, string(data), []int{20}, nil},
		{"empty", bytes.NewReader(nil), 8, nil, "", nil, nil},
		{"cut off: bytes read are written, then the error", errAfter{iotest.OneByteReader(bytes.NewReader(data[:11])), io.ErrUnexpectedEOF}, 8, nil, string(data[:11]), []int{8, 3}, io.ErrUnexpectedEOF},
		{"write fails", bytes.NewReader(data), 8, diskFull, "", nil, diskFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := &writeLog{fail: tc.fail}
			err := copyFull(dst, tc.src, make([]byte, tc.buf))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := dst.String(); got != tc.want {
				t.Errorf("copied %q, want %q", got, tc.want)
			}
			if !slices.Equal(dst.sizes, tc.sizes) {
				t.Errorf("writes of %v bytes, want %v", dst.sizes, tc.sizes)
			}
		})
	}
}
