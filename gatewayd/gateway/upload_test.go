package gateway

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/iotest"
)

func TestFill(t *testing.T) {
	data := []byte("0123456789")
	tests := []struct {
		name    string
		r       io.Reader
		buf     int
		wantN   int
		wantErr error
	}{
		{"full buffer", bytes.NewReader(data), 4, 4, nil},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data)), 8, 8, nil},
		{"exact fit", bytes.NewReader(data), 10, 10, nil},
		{"clean end", bytes.NewReader(data), 16, 10, io.EOF},
		{"clean end with the data", iotest.DataErrReader(bytes.NewReader(data)), 16, 10, io.EOF},
		{"cut-off body", io.MultiReader(bytes.NewReader(data), iotest.ErrReader(io.ErrUnexpectedEOF)), 16, 10, io.ErrUnexpectedEOF},
		{"cut-off body, one byte at a time", iotest.OneByteReader(io.MultiReader(bytes.NewReader(data[:3]), iotest.ErrReader(io.ErrUnexpectedEOF))), 16, 3, io.ErrUnexpectedEOF},
		{"cut off at once", iotest.ErrReader(io.ErrUnexpectedEOF), 16, 0, io.ErrUnexpectedEOF},
		{"timeout", iotest.TimeoutReader(bytes.NewReader(data)), 16, 10, iotest.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, tt.buf)
			n, err := fill(tt.r, buf)
			if n != tt.wantN || err != tt.wantErr {
				t.Errorf("fill = %d, %v; want %d, %v", n, err, tt.wantN, tt.wantErr)
			}
			if !bytes.Equal(buf[:n], data[:n]) {
				t.Errorf("fill read %q", buf[:n])
			}
		})
	}
}

// sink collects what a fanout writes to it and which buffers it saw.
type sink struct {
	bytes.Buffer
	mu      *sync.Mutex
	buffers map[*byte]bool // first byte of every buffer handed to Write
	failAt  int            // Write fails once this many bytes were written (0: never)
	gate    chan struct{}  // when set, every Write waits for a value
}

var errDisk = errors.New("disk on fire")

func (s *sink) Write(p []byte) (int, error) {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	s.buffers[&p[:1][0]] = true
	s.mu.Unlock()
	if s.failAt > 0 && s.Len()+len(p) >= s.failAt {
		return 0, errDisk
	}
	return s.Buffer.Write(p)
}

func newSinks(n int) ([]*sink, []io.Writer, map[*byte]bool) {
	var mu sync.Mutex
	bufs := map[*byte]bool{}
	var ss []*sink
	var ws []io.Writer
	for range n {
		s := &sink{mu: &mu, buffers: bufs}
		ss = append(ss, s)
		ws = append(ws, s)
	}
	return ss, ws, bufs
}

func TestFanoutCopiesToEveryWriter(t *testing.T) {
	const nb, size = 4, 64 << 10
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]byte, 10<<20)
	rand.NewChaCha8([32]byte{5}).Read(src)
	sinks, ws, bufs := newSinks(3)
	f := newFanout(ws, nb, size, 0)
	for rest := src; len(rest) > 0; {
		buf := f.buffer()
		if len(buf) != size {
			t.Fatalf("buffer of %d bytes, want %d", len(buf), size)
		}
		k := copy(buf[:1+r.IntN(size)], rest)
		rest = rest[k:]
		f.send(buf[:k])
	}
	for i, err := range f.close() {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	for i, s := range sinks {
		if !bytes.Equal(s.Bytes(), src) {
			t.Errorf("writer %d got %d bytes, not the %d sent", i, s.Len(), len(src))
		}
	}
	if f.failed.Load() {
		t.Error("failed is set without a failing writer")
	}
	if len(bufs) > nb {
		t.Errorf("writers saw %d distinct buffers, want at most %d", len(bufs), nb)
	}
	if len(f.free) != nb {
		t.Errorf("%d buffers back on the free list after close, want %d", len(f.free), nb)
	}
}

func TestFanoutFailingWriter(t *testing.T) {
	const nb, size = 4, 1 << 10
	sinks, ws, _ := newSinks(3)
	sinks[1].failAt = 10 << 10
	f := newFanout(ws, nb, size, 0)
	sent := 0
	for !f.failed.Load() {
		if sent > 1<<20 {
			t.Fatal("failed still unset after 1 MiB; the writer fails at 10 KiB")
		}
		buf := f.buffer()
		f.send(buf)
		sent += len(buf)
	}
	errs := f.close()
	if !errors.Is(errs[1], errDisk) {
		t.Errorf("close()[1] = %v, want %v", errs[1], errDisk)
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil {
			t.Errorf("close()[%d] = %v, want nil", i, errs[i])
		}
		if sinks[i].Len() > sent {
			t.Errorf("writer %d got %d bytes of %d sent", i, sinks[i].Len(), sent)
		}
	}
	if len(f.free) != nb {
		t.Errorf("%d buffers back on the free list after close, want %d", len(f.free), nb)
	}
}

func TestFanoutBoundsMemory(t *testing.T) {
	const nb, size = 4, 1 << 10
	sinks, ws, bufs := newSinks(3)
	gate := make(chan struct{})
	sinks[2].gate = gate // the slowest writer takes nothing yet
	f := newFanout(ws, nb, size, 0)
	for range nb {
		f.send(f.buffer()) // never blocks: nb buffers are free
	}
	// Every buffer is now waiting for the stalled writer: the reader can
	// get no more, however fast the other writers are.
	select {
	case <-f.free:
		t.Fatalf("a %d-th buffer was free while one writer had not written any", nb+1)
	default:
	}
	go func() {
		for range 3 * nb {
			gate <- struct{}{}
		}
	}()
	for range 2 * nb {
		f.send(f.buffer())
	}
	for i, err := range f.close() {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	for i, s := range sinks {
		if s.Len() != 3*nb*size {
			t.Errorf("writer %d got %d bytes, want %d", i, s.Len(), 3*nb*size)
		}
	}
	if len(bufs) != nb || len(f.free) != nb {
		t.Errorf("%d distinct buffers used, %d free after close; want %d and %d", len(bufs), len(f.free), nb, nb)
	}
}
