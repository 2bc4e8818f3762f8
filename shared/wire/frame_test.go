package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"dstor/shared/cid"
)

// writeCounter counts Write calls and keeps the bytes.
type writeCounter struct {
	bytes.Buffer
	calls int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.calls++
	return w.Buffer.Write(p)
}

// rawFrame builds kind, uvarint(len(js)), js by hand.
func rawFrame(kind byte, js string) []byte {
	b := []byte{kind}
	b = binary.AppendUvarint(b, uint64(len(js)))
	return append(b, js...)
}

func TestFrameRoundTrip(t *testing.T) {
	c := cid.Sum([]byte("hello\n"))
	for _, tc := range []struct {
		name string
		kind byte
		v    any
		into func() any // a fresh value to decode into
	}{
		{"empty struct", byte(OpPing), struct{}{}, func() any { return &struct{}{} }},
		{"status", statusOK, Status{ID: "abc", Region: "eu-west", Capacity: 1 << 40, Free: 1 << 39, Blobs: 7, InFlight: 2}, func() any { return &Status{} }},
		{"put request unknown size", byte(OpPut), PutRequest{Size: -1}, func() any { return &PutRequest{} }},
		{"put trailer", 0, PutTrailer{CID: c}, func() any { return &PutTrailer{} }},
		{"get request", byte(OpGet), GetRequest{CID: c, Offset: 1 << 33, Length: -1}, func() any { return &GetRequest{} }},
		{"holders", statusOK, HoldersResponse{Size: 3, Holders: []Holder{{ID: "a", Region: "r", URL: "https://x/ü"}}}, func() any { return &HoldersResponse{} }},
		{"error", statusErr, Error{Code: CodeNoSpace, Message: "disk \"full\"\n"}, func() any { return &Error{} }},
		{"header of exactly MaxHeader", 0xff, strings.Repeat("x", MaxHeader-2), func() any { return new(string) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w writeCounter
			if err := writeFrame(&w, tc.kind, tc.v); err != nil {
				t.Fatalf("writeFrame: %v", err)
			}
			if w.calls != 1 {
				t.Errorf("writeFrame made %d Write calls, want 1", w.calls)
			}
			w.WriteString("body") // what follows the frame must stay unread
			r := bufio.NewReader(&w.Buffer)
			kind, js, err := readFrame(r)
			if err != nil {
				t.Fatalf("readFrame: %v", err)
			}
			if kind != tc.kind {
				t.Errorf("kind = %d, want %d", kind, tc.kind)
			}
			got := tc.into()
			if err := decode(js, got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			want, _ := json.Marshal(tc.v)
			gotJS, _ := json.Marshal(got)
			if !bytes.Equal(gotJS, want) {
				t.Errorf("round trip = %s, want %s", gotJS, want)
			}
			if rest, _ := io.ReadAll(r); string(rest) != "body" {
				t.Errorf("bytes after the frame = %q, want %q", rest, "body")
			}
		})
	}
}

func TestWriteFrameTooLarge(t *testing.T) {
	var w writeCounter
	err := writeFrame(&w, 0, strings.Repeat("x", MaxHeader-1)) // MaxHeader+1 bytes of JSON
	if !errors.Is(err, ErrFrame) {
		t.Fatalf("writeFrame of an oversized header = %v, want ErrFrame", err)
	}
	if w.calls != 0 || w.Len() != 0 {
		t.Errorf("an oversized frame wrote %d bytes in %d calls, want nothing", w.Len(), w.calls)
	}
	if err := writeFrame(&w, 0, func() {}); err == nil {
		t.Error("writeFrame of an unencodable value succeeded")
	}
}

func TestFramesBackToBack(t *testing.T) {
	var buf bytes.Buffer
	for i := range 5 {
		if err := writeFrame(&buf, byte(i), PutRequest{Size: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReaderSize(&buf, 16)
	for i := range 5 {
		var pr PutRequest
		kind, js, err := readFrame(r)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if err := decode(js, &pr); err != nil || kind != byte(i) || pr.Size != int64(i) {
			t.Fatalf("frame %d = kind %d, %+v, %v", i, kind, pr, err)
		}
	}
	if _, _, err := readFrame(r); err != io.EOF {
		t.Errorf("readFrame at a clean end = %v, want io.EOF", err)
	}
}

func TestReadResponse(t *testing.T) {
	c := cid.Sum(nil)
	var ok bytes.Buffer
	writeFrame(&ok, statusOK, PutResponse{CID: c, Size: 0})
	var resp PutResponse
	if err := readResponse(bufio.NewReader(&ok), &resp); err != nil {
		t.Fatalf("readResponse: %v", err)
	}
	if resp.CID != c || resp.Size != 0 {
		t.Errorf("readResponse = %+v", resp)
	}

	for _, tc := range []struct {
		name string
		sent *Error
		is   []error // errors.Is must hold
		not  []error // errors.Is must not hold
	}{
		{"not found", Errorf(CodeNotFound, "no %s", c), []error{ErrNotFound, &Error{Code: CodeNotFound}}, []error{ErrHashMismatch, ErrNoSpace, ErrFrame}},
		{"hash mismatch", Errorf(CodeHashMismatch, "bad"), []error{ErrHashMismatch}, []error{ErrNotFound}},
		{"no space", &Error{Code: CodeNoSpace}, []error{ErrNoSpace}, []error{ErrNotFound}},
		{"bad request", Errorf(CodeBadRequest, "what"), []error{&Error{Code: CodeBadRequest}}, []error{ErrNotFound, ErrNoSpace}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeFrame(&buf, statusErr, tc.sent); err != nil {
				t.Fatal(err)
			}
			var resp PutResponse
			err := readResponse(bufio.NewReader(&buf), &resp)
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("readResponse = %v (%T), want *Error", err, err)
			}
			if *we != *tc.sent {
				t.Errorf("got %+v, want %+v", *we, *tc.sent)
			}
			wrapped := fmt.Errorf("calling node: %w", err)
			for _, target := range tc.is {
				if !errors.Is(err, target) || !errors.Is(wrapped, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			for _, target := range tc.not {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = true", err, target)
				}
			}
		})
	}
}

func TestCodeOf(t *testing.T) {
	nf := Errorf(CodeNotFound, "gone")
	for _, tc := range []struct {
		name string
		err  error
		want Error
	}{
		{"wire error", nf, *nf},
		{"wrapped wire error", fmt.Errorf("ctx: %w", nf), *nf},
		{"plain error", errors.New("disk on fire"), Error{Code: CodeInternal, Message: "disk on fire"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := codeOf(tc.err); *got != tc.want {
				t.Errorf("codeOf = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestReadResponseMalformed(t *testing.T) {
	overflow := append([]byte{statusOK}, bytes.Repeat([]byte{0xff}, 10)...)
	overflow = append(overflow, 0x01)
	for _, tc := range []struct {
		name string
		in   []byte
		eof  bool // io.ErrUnexpectedEOF is acceptable in place of ErrFrame
	}{
		{"empty", nil, true},
		{"status only", []byte{statusOK}, true},
		{"truncated varint", []byte{statusOK, 0x80}, true},
		{"truncated long varint", []byte{statusOK, 0xff, 0xff, 0xff}, true},
		{"varint overflow", overflow, false},
		{"header one past MaxHeader", binary.AppendUvarint([]byte{statusOK}, MaxHeader+1), false},
		{"header of 2^62", binary.AppendUvarint([]byte{statusOK}, 1<<62), false},
		{"header of 2^64-1", binary.AppendUvarint([]byte{statusOK}, 1<<64-1), false},
		{"truncated header", []byte{statusOK, 5, '{', '}'}, true},
		{"empty header", []byte{statusOK, 0}, false},
		{"bad json", rawFrame(statusOK, "abc"), false},
		{"json of the wrong type", rawFrame(statusOK, "[1,2]"), false},
		{"json field of the wrong type", rawFrame(statusOK, `{"size":"big"}`), false},
		{"invalid cid", rawFrame(statusOK, `{"cid":"bafy","size":1}`), false},
		{"error with bad json", rawFrame(statusErr, `{"code":`), false},
		{"error with code of the wrong type", rawFrame(statusErr, `{"code":"x"}`), false},
		{"unknown status", rawFrame(2, `{}`), false},
		{"status 255", rawFrame(255, `{"size":1}`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp PutResponse
			err := readResponse(bufio.NewReader(bytes.NewReader(tc.in)), &resp)
			switch {
			case err == nil:
				t.Fatalf("readResponse(%q) succeeded with %+v", tc.in, resp)
			case errors.Is(err, ErrFrame):
			case tc.eof && errors.Is(err, io.ErrUnexpectedEOF):
			default:
				t.Fatalf("readResponse(%q) = %v (%T), want ErrFrame", tc.in, err, err)
			}
			var we *Error
			if errors.As(err, &we) {
				t.Errorf("a malformed frame became a peer error %+v", we)
			}
		})
	}
}

// TestHugeHeaderNotAllocated: a header length beyond MaxHeader is refused
// before any buffer is made for it, and nothing past the length is read.
func TestHugeHeaderNotAllocated(t *testing.T) {
	for _, n := range []uint64{MaxHeader + 1, 1 << 30, 1 << 62} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			in := binary.AppendUvarint([]byte{statusOK}, n)
			in = append(in, "rest"...)
			r := bufio.NewReader(bytes.NewReader(in))
			var err error
			alloc := allocated(func() { _, _, err = readFrame(r) })
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("readFrame = %v, want ErrFrame", err)
			}
			if alloc > 64<<10 {
				t.Errorf("readFrame allocated %d bytes for a refused header", alloc)
			}
			if rest, _ := io.ReadAll(r); string(rest) != "rest" {
				t.Errorf("readFrame consumed past the header length: left %q", rest)
			}
		})
	}
}

// allocated returns the bytes of heap f allocated (plus whatever other
// goroutines did meanwhile, so callers use generous bounds).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
