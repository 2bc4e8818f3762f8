package store

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The disk store opens its directories under an os.Root and then works in
// each by single path elements: a digest in hex or a random temp name,
// which never contain a slash. openat, fstatat, renameat and unlinkat with
// such a name cannot leave the directory, and none of them follows a
// symlink in it (openat is given O_NOFOLLOW). This spares the walk from
// the root that os.Root makes for every call, one openat per path
// component: a commit made 28 openat calls that way.

// control runs fn with dir's file descriptor, which stays valid meanwhile.
func control(dir *os.File, fn func(fd int) error) error {
	rc, err := dir.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// element checks that name is one path element.
func element(op string, dir *os.File, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return &fs.PathError{Op: op, Path: path.Join(dir.Name(), name), Err: fs.ErrInvalid}
	}
	return nil
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// openAt opens the file name in dir.
func openAt(dir *os.File, name string, flag int, perm uint32) (*os.File, error) {
	if err := element("openat", dir, name); err != nil {
		return nil, err
	}
	var fd int
	err := control(dir, func(dfd int) error {
		return ignoringEINTR(func() (err error) {
			fd, err = unix.Openat(dfd, name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
			return err
		})
	})
	p := path.Join(dir.Name(), name)
	if err != nil {
		return nil, &fs.PathError{Op: "openat", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// statAt returns the size of the regular file name in dir; a missing name,
// or one that is not a regular file, is fs.ErrNotExist.
func statAt(dir *os.File, name string) (int64, error) {
	size, _, err := statTimeAt(dir, name)
	return size, err
}

// statTimeAt is statAt with the file's modification time.
func statTimeAt(dir *os.File, name string) (int64, time.Time, error) {
	if err := element("fstatat", dir, name); err != nil {
		return 0, time.Time{}, err
	}
	var st unix.Stat_t
	err := control(dir, func(dfd int) error {
		return ignoringEINTR(func() error { return unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	})
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		err = fs.ErrNotExist
	}
	if err != nil {
		return 0, time.Time{}, &fs.PathError{Op: "fstatat", Path: path.Join(dir.Name(), name), Err: err}
	}
	return st.Size, time.Unix(st.Mtim.Unix()), nil
}

// touchAt sets the modification time of name in dir to now, read from the
// process's clock: the kernel's own "now" (UTIME_NOW, or the time of the
// last write) is the coarse clock, up to a tick (4 ms here) behind, and a
// commit time is compared with times taken in Go (RemoveCommittedBefore).
func touchAt(dir *os.File, name string) error {
	if err := element("utimensat", dir, name); err != nil {
		return err
	}
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(time.Now().UnixNano())}
	err := control(dir, func(dfd int) error {
		return ignoringEINTR(func() error { return unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW) })
	})
	if err != nil {
		return &fs.PathError{Op: "utimensat", Path: path.Join(dir.Name(), name), Err: err}
	}
	return nil
}

// renameAt renames from/oldName to to/newName.
func renameAt(from *os.File, oldName string, to *os.File, newName string) error {
	if err := errors.Join(element("renameat", from, oldName), element("renameat", to, newName)); err != nil {
		return err
	}
	err := control(from, func(ofd int) error {
		return control(to, func(nfd int) error {
			return ignoringEINTR(func() error { return unix.Renameat(ofd, oldName, nfd, newName) })
		})
	})
	if err != nil {
		return &os.LinkError{Op: "renameat", Old: path.Join(from.Name(), oldName), New: path.Join(to.Name(), newName), Err: err}
	}
	return nil
}

// unlinkAt removes the file name from dir.
func unlinkAt(dir *os.File, name string) error {
	if err := element("unlinkat", dir, name); err != nil {
		return err
	}
	err := control(dir, func(dfd int) error {
		return ignoringEINTR(func() error { return unix.Unlinkat(dfd, name, 0) })
	})
	if err != nil {
		return &fs.PathError{Op: "unlinkat", Path: path.Join(dir.Name(), name), Err: err}
	}
	return nil
}
