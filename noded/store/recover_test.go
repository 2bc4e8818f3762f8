package store

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"dstor/shared/cid"
)

// orphanPath is where the outboard of data would land.
func orphanPath(dir string, data []byte) string {
	dg := cid.Sum(data).Digest()
	h := hex.EncodeToString(dg[:])
	return filepath.Join(dir, "blobs", h[0:2], h[2:4], h+".obao")
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRecover(t *testing.T) {
	kept := [][]byte{blobOf(0, 20), blobOf(GroupSize+1, 21), blobOf(7, 22)}
	for _, tc := range []struct {
		name string
		// crash leaves debris in a store (still open as d, in dir) that
		// already holds kept; it returns paths that must be gone after a
		// reopen.
		crash func(t *testing.T, d *Disk, dir string) []string
	}{
		{"clean", func(t *testing.T, d *Disk, dir string) []string { return nil }},
		{"writer neither committed nor aborted", func(t *testing.T, d *Disk, dir string) []string {
			w, err := d.Create()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(blobOf(3*GroupSize, 23)); err != nil {
				t.Fatal(err)
			}
			return filesUnder(t, dir, "tmp")
		}},
		{"empty writer", func(t *testing.T, d *Disk, dir string) []string {
			if _, err := d.Create(); err != nil {
				t.Fatal(err)
			}
			return filesUnder(t, dir, "tmp")
		}},
		{"stray files and directories in tmp", func(t *testing.T, d *Disk, dir string) []string {
			writeFile(t, filepath.Join(dir, "tmp", "stray"), []byte("x"))
			writeFile(t, filepath.Join(dir, "tmp", "0123456789abcdef01234567.obao"), []byte("ob"))
			writeFile(t, filepath.Join(dir, "tmp", "sub", "deeper", "f"), []byte("y"))
			return []string{"tmp/stray", "tmp/0123456789abcdef01234567.obao", "tmp/sub"}
		}},
		{"orphan outboard in a new shard", func(t *testing.T, d *Disk, dir string) []string {
			p := orphanPath(dir, []byte("never landed"))
			writeFile(t, p, []byte("outboard"))
			rel, _ := filepath.Rel(dir, p)
			return []string{rel}
		}},
		{"orphan outboard beside a kept blob", func(t *testing.T, d *Disk, dir string) []string {
			// An outboard whose blob is missing, in the shard directory of
			// kept[1], whose own blob and outboard must stay.
			p := orphanPath(dir, kept[1])
			orphan := filepath.Join(filepath.Dir(p), hex.EncodeToString(make([]byte, 32))+".obao")
			writeFile(t, orphan, []byte("outboard"))
			rel, _ := filepath.Rel(dir, orphan)
			return []string{rel}
		}},
		{"outboard file of a blob of one group at most", func(t *testing.T, d *Disk, dir string) []string {
			// Older versions of the store kept one; it is only the length.
			p := orphanPath(dir, kept[2])
			writeFile(t, p, lengthHeader(int64(len(kept[2]))))
			rel, _ := filepath.Rel(dir, p)
			return []string{rel}
		}},
		{"everything at once", func(t *testing.T, d *Disk, dir string) []string {
			w, err := d.Create()
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("half a blob"))
			gone := filesUnder(t, dir, "tmp")
			writeFile(t, filepath.Join(dir, "tmp", "stray"), nil)
			p := orphanPath(dir, []byte("never landed either"))
			writeFile(t, p, []byte("outboard"))
			rel, _ := filepath.Rel(dir, p)
			return append(gone, "tmp/stray", rel)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, dir := openTestDisk(t)
			var cids []cid.CID
			for _, b := range kept {
				cids = append(cids, commit(t, d, b))
			}
			gone := tc.crash(t, d, dir)
			for _, p := range gone {
				if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
					t.Fatalf("setup: %s should exist before the reopen: %v", p, err)
				}
			}
			// The crashed store is never closed; a new process opens it.
			d2, err := OpenDisk(dir)
			if err != nil {
				t.Fatalf("OpenDisk after crash: %v", err)
			}
			defer d2.Close()

			for _, p := range gone {
				if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s survived the reopen (stat: %v)", p, err)
				}
			}
			if got := filesUnder(t, dir, "tmp"); len(got) != 0 {
				t.Errorf("tmp/ holds %q after reopen, want nothing", got)
			}
			if fi, err := os.Stat(filepath.Join(dir, "tmp")); err != nil || !fi.IsDir() {
				t.Errorf("tmp/ is not a directory after reopen: %v", err)
			}
			if got := filesUnder(t, dir, "blobs"); len(got) != len(kept)+1 {
				t.Errorf("blobs/ holds %q, want the %d kept blobs and the outboard of the one larger than a group", got, len(kept))
			}
			if got := d2.Count(); got != int64(len(kept)) {
				t.Errorf("Count = %d, want %d", got, len(kept))
			}
			if got, want := d2.Used(), int64(len(kept[0])+len(kept[1])+len(kept[2])); got != want {
				t.Errorf("Used = %d, want %d", got, want)
			}
			for i, c := range cids {
				checkBlob(t, d2, c, kept[i])
			}

			// The recovered store keeps working.
			extra := blobOf(GroupSize*2, 24)
			c := commit(t, d2, extra)
			checkBlob(t, d2, c, extra)
			if got := d2.Count(); got != int64(len(kept))+1 {
				t.Errorf("Count after a new commit = %d, want %d", got, len(kept)+1)
			}
		})
	}
}

func TestOpenDiskCreatesDir(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"missing", func(t *testing.T, dir string) {}},
		{"nested missing", nil},
		{"empty", func(t *testing.T, dir string) {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a")
			if tc.setup == nil {
				dir = filepath.Join(dir, "b", "c")
			} else {
				tc.setup(t, dir)
			}
			d, err := OpenDisk(dir)
			if err != nil {
				t.Fatalf("OpenDisk: %v", err)
			}
			defer d.Close()
			if d.Count() != 0 {
				t.Errorf("Count = %d, want 0", d.Count())
			}
			for _, sub := range []string{"tmp", "blobs"} {
				if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
					t.Errorf("%s/ not created: %v", sub, err)
				}
			}
		})
	}
}

func TestOpenDiskOnFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	writeFile(t, p, []byte("not a dir"))
	if d, err := OpenDisk(p); err == nil {
		d.Close()
		t.Fatal("OpenDisk on a regular file succeeded")
	}
}
