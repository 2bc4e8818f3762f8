package store

import (
	"encoding/hex"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"dstor/shared/cid"
)

var blobPath = regexp.MustCompile(`^blobs/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})(\.obao)?$`)

// TestLayout: each blob is a file named by its digest, two directory
// levels deep, beside its outboard; a blob of at most one group has no
// outboard file (its outboard is only its length, which Open makes up).
func TestLayout(t *testing.T) {
	d, dir := openTestDisk(t)
	want := make(map[string]bool) // expected file paths
	sizes := make(map[cid.CID]int)
	for i, n := range []int{0, 1, GroupSize, GroupSize + 1, 100_000} {
		c := commit(t, d, blobOf(n, uint64(100+i)))
		sizes[c] = n
		dg := c.Digest()
		h := hex.EncodeToString(dg[:])
		p := "blobs/" + h[0:2] + "/" + h[2:4] + "/" + h
		want[p] = true
		if n > GroupSize {
			want[p+".obao"] = true
		}
	}

	got := tree(t, dir)
	for c, n := range sizes {
		dg := c.Digest()
		t.Run(hex.EncodeToString(dg[:4]), func(t *testing.T) {
			h := hex.EncodeToString(dg[:])
			p := "blobs/" + h[0:2] + "/" + h[2:4] + "/" + h
			files := []string{p, p + ".obao"}
			if n <= GroupSize {
				if _, ok := got[p+".obao"]; ok {
					t.Errorf("%s.obao exists for a %d-byte blob", p, n)
				}
				files = files[:1]
			}
			for _, p := range files {
				e, ok := got[p]
				if !ok {
					t.Errorf("%s missing", p)
					continue
				}
				if e.mode != 0o600 {
					t.Errorf("%s has mode %v, want -rw-------", p, e.mode)
				}
			}
		})
	}

	for p, e := range got {
		switch {
		case p == ".", p == "tmp", p == "blobs":
			if !e.mode.IsDir() || e.mode.Perm() != 0o700 {
				t.Errorf("%s has mode %v, want drwx------", p, e.mode)
			}
		case e.mode.IsDir():
			if !regexp.MustCompile(`^(blobs/[0-9a-f]{2}(/[0-9a-f]{2})?|tmp/[0-9a-f])$`).MatchString(p) {
				t.Errorf("unexpected directory %s", p)
			}
			if e.mode.Perm() != 0o700 {
				t.Errorf("%s has mode %v, want drwx------", p, e.mode)
			}
		default:
			m := blobPath.FindStringSubmatch(p)
			if m == nil {
				t.Errorf("unexpected file %s", p)
				continue
			}
			if m[1] != m[3][0:2] || m[2] != m[3][2:4] {
				t.Errorf("%s is not sharded by its digest", p)
			}
			if !want[p] {
				t.Errorf("file %s was never committed", p)
			}
		}
	}
}

// TestStaysInsideDir runs every kind of operation on a store whose
// directory has siblings, and checks that nothing outside it changed.
func TestStaysInsideDir(t *testing.T) {
	parent := t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "sibling"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(parent, "other", "blobs", "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "other", "blobs", "tmp", "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := func() map[string]entry {
		m := tree(t, parent)
		for p := range m {
			if p == "store" || strings.HasPrefix(p, "store/") {
				delete(m, p)
			}
		}
		delete(m, ".") // its mtime changes when store/ is created; contents are compared
		return m
	}
	before := outside()

	dir := filepath.Join(parent, "store")
	d, err := OpenDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 5, GroupSize + 1} {
		commit(t, d, blobOf(n, uint64(n)))
	}
	w, _ := d.Create()
	w.Write([]byte("aborted"))
	w.Abort()
	w, _ = d.Create()
	w.Write([]byte("wrong"))
	w.Commit(cid.Sum([]byte("right")), 5)
	w, _ = d.Create()
	w.Write([]byte("left behind")) // a crash: neither committed nor aborted
	d.Close()
	d, err = OpenDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()

	after := outside()
	if !maps.Equal(before, after) {
		t.Errorf("entries outside the store changed:\nbefore %v\nafter  %v", before, after)
	}
	names, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range names {
		got = append(got, e.Name())
	}
	if want := []string{"other", "sibling", "store"}; !slices.Equal(got, want) {
		t.Errorf("parent holds %q, want %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(parent, "sibling")); err != nil || string(b) != "keep" {
		t.Errorf("sibling = %q, %v", b, err)
	}
}

func TestSpace(t *testing.T) {
	d, dir := openTestDisk(t)
	capacity, free, err := d.Space()
	if err != nil {
		t.Fatalf("Space: %v", err)
	}
	if free <= 0 || capacity < free {
		t.Errorf("Space = capacity %d, free %d; want capacity >= free > 0", capacity, free)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if want := int64(st.Blocks) * st.Bsize; capacity != want {
		t.Errorf("capacity = %d, statfs(%s) says %d", capacity, dir, want)
	}
}
