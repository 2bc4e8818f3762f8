package testnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"dstor/shared/wire"
)

// TestOutboardRange: a holder sends its outboard tree whole or any range
// of it (what a peer fetch asks for: the head, then the rest), and refuses
// a range outside it with a clear error.
func TestOutboardRange(t *testing.T) {
	n := Start(t, Options{Regions: []string{"r1"}, NodesPerRegion: 1, Writes: 1})
	data := blob(31, 3<<20+123)
	id := MustParse(t, n.Upload(t, data).CID)
	nd := n.Nodes[0]
	ob, err := os.ReadFile(nd.BlobPath(id) + ".obao")
	if err != nil {
		t.Fatal(err)
	}
	obSize := int64(len(ob))
	wc := n.WireClient(t)
	ctx := context.Background()
	read := func(t *testing.T, b *wire.Body) []byte {
		t.Helper()
		defer b.Close()
		got, err := io.ReadAll(b)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(got)) != b.Length || b.Size != int64(len(data)) {
			t.Fatalf("answer says %d bytes of a %d-byte blob, sent %d", b.Length, b.Size, len(got))
		}
		return got
	}
	tests := []struct {
		name         string
		off, length  int64
		start, count int64
	}{
		{"head", 0, 8 << 10, 0, 8 << 10},
		{"rest", 8 << 10, 0, 8 << 10, obSize - 8<<10},
		{"middle", 100, 1000, 100, 1000},
		{"past the end, clipped", obSize - 10, 1000, obSize - 10, 10},
		{"at the end", obSize, 0, obSize, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := wc.OutboardRange(ctx, nd.Target(), id, tc.off, tc.length)
			if err != nil {
				t.Fatal(err)
			}
			if got := read(t, b); !bytes.Equal(got, ob[tc.start:tc.start+tc.count]) {
				t.Fatalf("got %d bytes, not outboard[%d:+%d]", len(got), tc.start, tc.count)
			}
		})
	}
	t.Run("whole", func(t *testing.T) {
		b, err := wc.Outboard(ctx, nd.Target(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, b); !bytes.Equal(got, ob) {
			t.Fatal("not the outboard")
		}
	})
	for _, bad := range [][2]int64{{-1, 10}, {0, -5}, {obSize + 1, 0}} {
		_, err := wc.OutboardRange(ctx, nd.Target(), id, bad[0], bad[1])
		if !errors.Is(err, &wire.Error{Code: wire.CodeBadRequest}) {
			t.Errorf("range %d+%d: %v, want a bad request", bad[0], bad[1], err)
		}
	}
}
