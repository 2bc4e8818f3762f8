package testnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"dstor/shared/cid"
	"dstor/shared/proof"
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

// TestFetchLead: a holder's answer to a peer fetch leads with the head of
// the outboard (no more than the node sends) and the first group's chunk
// values, then the whole blob; a holder whose first group fails its check
// sends nothing and drops its copy.
func TestFetchLead(t *testing.T) {
	n := Start(t, Options{Regions: []string{"r1"}, NodesPerRegion: 1, Writes: 1})
	nd := n.Nodes[0]
	wc := n.WireClient(t)
	ctx := context.Background()
	fetch := func(t *testing.T, id cid.CID, head int64) ([]byte, wire.Lead) {
		t.Helper()
		b, lead, err := wc.Fetch(ctx, nd.Target(), id, head)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		got, err := io.ReadAll(b)
		if err != nil {
			t.Fatal(err)
		}
		return got, lead
	}
	t.Run("large", func(t *testing.T) {
		data := blob(32, 3<<20+123)
		id := MustParse(t, n.Upload(t, data).CID)
		ob, err := os.ReadFile(nd.BlobPath(id) + ".obao")
		if err != nil {
			t.Fatal(err)
		}
		for _, head := range []int64{0, 100, 2 << 10, 64 << 10} {
			got, lead := fetch(t, id, head)
			if !bytes.Equal(got, data) {
				t.Fatalf("head %d: %d bytes, not the blob", head, len(got))
			}
			if want := ob[:min(head, 2<<10)]; !bytes.Equal(lead.Outboard, want) {
				t.Errorf("head %d: led with %d bytes of outboard, want its first %d", head, len(lead.Outboard), len(want))
			}
			if !bytes.Equal(lead.Chunks, proof.ChunkCVs(nil, data[:proof.GroupSize])) {
				t.Errorf("head %d: led with %d bytes of chunk values, not the first group's", head, len(lead.Chunks))
			}
		}
	})
	t.Run("one group", func(t *testing.T) {
		data := blob(33, 10<<10)
		id := MustParse(t, n.Upload(t, data).CID)
		got, lead := fetch(t, id, 2<<10)
		if !bytes.Equal(got, data) || len(lead.Chunks) != 0 || len(lead.Outboard) != int(proof.OutboardSize(int64(len(data)))) {
			t.Fatalf("a one-group blob: equal %v, %d bytes of chunk values, %d of outboard", bytes.Equal(got, data), len(lead.Chunks), len(lead.Outboard))
		}
	})
	t.Run("corrupt first group", func(t *testing.T) {
		data := blob(34, 3*proof.GroupSize)
		id := MustParse(t, n.Upload(t, data).CID)
		p := nd.BlobPath(id)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[100] ^= 0x01
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := wc.Fetch(ctx, nd.Target(), id, 2<<10); !errors.Is(err, &wire.Error{Code: wire.CodeNotFound}) {
			t.Fatalf("fetch of a corrupt copy: %v, want not found", err)
		}
		if nd.HasOnDisk(id) {
			t.Error("the holder kept a copy whose first group fails its check")
		}
	})
}
