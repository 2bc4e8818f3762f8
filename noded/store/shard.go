package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"dstor/shared/cid"
)

// A blob's shard directory is blobs/<d0>/<d1>, d0 and d1 being its
// digest's first two bytes in hex: 65,536 directories, so that none grows
// too large to search.

// shards calls fn for every shard directory under blobs/ with its entries,
// until fn returns an error, which shards returns.
func (d *Disk) shards(fn func(prefix [2]byte, dir *os.File, entries []fs.DirEntry) error) error {
	tops, err := readDir(d.blobs, ".")
	if err != nil {
		return err
	}
	for _, top := range tops {
		d0, ok := parseHexByte(top.Name())
		if !ok || !top.IsDir() {
			continue
		}
		subs, err := readDir(d.blobs, top.Name())
		if err != nil {
			return err
		}
		for _, sub := range subs {
			d1, ok := parseHexByte(sub.Name())
			if !ok || !sub.IsDir() {
				continue
			}
			dir, err := d.blobs.Open(top.Name() + "/" + sub.Name())
			if err != nil {
				return err
			}
			entries, err := dir.ReadDir(-1)
			if err == nil {
				err = fn([2]byte{d0, d1}, dir, entries)
			}
			dir.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func readDir(root *os.Root, name string) ([]fs.DirEntry, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// shardOf is c's shard directory under blobs/, and hexOf the name of its
// blob file there (the outboard adds ".obao").
func shardOf(c cid.CID) string {
	d := c.Digest()
	return fmt.Sprintf("%02x/%02x", d[0], d[1])
}

func hexOf(c cid.CID) string {
	d := c.Digest()
	return hex.EncodeToString(d[:])
}

// shardIndex is where Disk.durable records the shard directory of the
// blobs whose digests start with prefix; prefix[0] alone indexes its
// parent.
func shardIndex(prefix [2]byte) int { return 256 + int(prefix[0])<<8 + int(prefix[1]) }

// parseHexByte parses a shard directory name: two lower-case hex digits.
func parseHexByte(s string) (byte, bool) {
	var b [1]byte
	if len(s) != 2 || strings.ToLower(s) != s {
		return 0, false
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, false
	}
	return b[0], true
}

// parseName parses the name of a blob file (a digest in lower-case hex)
// or of an outboard (that, plus ".obao").
func parseName(name string) (digest [32]byte, outboard, ok bool) {
	h, outboard := strings.CutSuffix(name, ".obao")
	if len(h) != 64 || strings.ToLower(h) != h {
		return digest, false, false
	}
	if _, err := hex.Decode(digest[:], []byte(h)); err != nil {
		return digest, false, false
	}
	return digest, outboard, true
}

// inShard reports whether digest belongs in the shard directory of prefix.
func inShard(digest [32]byte, prefix [2]byte) bool {
	return digest[0] == prefix[0] && digest[1] == prefix[1]
}

// openShard opens c's shard directory, or returns ErrNotFound.
func (d *Disk) openShard(c cid.CID) (*os.File, error) {
	dir, err := d.blobs.Open(shardOf(c))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return dir, err
}

// makeShard creates c's shard directory and its parent where they are not
// known to be durable, and fsyncs the parent of each in the background:
// the blob may be placed meanwhile, as a commit is acknowledged only once
// wait returns nil. The parent is synced even when another commit made
// the directory first: that one may not have synced it yet.
func (d *Disk) makeShard(c cid.CID) (wait func() error, err error) {
	dg := c.Digest()
	prefix := [2]byte{dg[0], dg[1]}
	if d.durable[shardIndex(prefix)].Load() {
		return func() error { return nil }, nil
	}
	top := fmt.Sprintf("%02x", dg[0])
	var parents []string
	if !d.durable[dg[0]].Load() {
		if err := d.mkdir(top); err != nil {
			return nil, err
		}
		parents = append(parents, ".")
	}
	if err := d.mkdir(shardOf(c)); err != nil {
		return nil, err
	}
	parents = append(parents, top)
	done := make(chan error, 1)
	go func() {
		var errs []error
		for _, p := range parents {
			errs = append(errs, d.syncDir(p))
		}
		done <- errors.Join(errs...)
	}()
	return func() error {
		if err := <-done; err != nil {
			return err
		}
		d.durable[dg[0]].Store(true)
		d.durable[shardIndex(prefix)].Store(true)
		return nil
	}, nil
}

// mkdir creates the directory name under blobs/ if it is missing.
func (d *Disk) mkdir(name string) error {
	if err := d.blobs.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return noSpace(err)
	}
	return nil
}

// syncDir fsyncs the directory name under blobs/.
func (d *Disk) syncDir(name string) error {
	dir, err := d.blobs.Open(name)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("store: fsync %s: %w", dir.Name(), noSpace(err))
	}
	return nil
}
