package load

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go/quicvarint"
)

// h3Frame is one HTTP/3 frame as bytes.
func h3Frame(typ uint64, payload []byte) []byte {
	b := quicvarint.Append(nil, typ)
	b = quicvarint.Append(b, uint64(len(payload)))
	return append(b, payload...)
}

func h3Block(t *testing.T, fields ...qpack.HeaderField) []byte {
	var buf bytes.Buffer
	enc := qpack.NewEncoder(&buf)
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestReadAnswer(t *testing.T) {
	created := h3Block(t, qpack.HeaderField{Name: ":status", Value: "201"}, qpack.HeaderField{Name: "content-type", Value: "application/json"})
	tests := []struct {
		name    string
		stream  [][]byte
		status  int
		body    string
		wantErr bool
	}{
		{"header and body in two frames", [][]byte{h3Frame(h3FrameHeaders, created), h3Frame(h3FrameData, []byte(`{"cid":`)), h3Frame(h3FrameData, []byte(`"x"}`))}, 201, `{"cid":"x"}`, false},
		{"unknown frame skipped", [][]byte{h3Frame(0x21, []byte("grease")), h3Frame(h3FrameHeaders, created)}, 201, "", false},
		{"no status", [][]byte{h3Frame(h3FrameHeaders, h3Block(t, qpack.HeaderField{Name: "content-type", Value: "text/plain"}))}, 0, "", true},
		{"data before header", [][]byte{h3Frame(h3FrameData, []byte("x"))}, 0, "", true},
		{"no header at all", nil, 0, "", true},
		{"cut off in a frame", [][]byte{h3Frame(h3FrameHeaders, created)[:4]}, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans, err := readAnswer(bufio.NewReader(bytes.NewReader(bytes.Join(tt.stream, nil))), time.Now())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if ans.status != tt.status || string(ans.body) != tt.body {
				t.Errorf("got %d %q, want %d %q", ans.status, ans.body, tt.status, tt.body)
			}
		})
	}
}
