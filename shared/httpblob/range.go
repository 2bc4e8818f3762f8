package httpblob

import (
	"errors"
	"strconv"
	"strings"
)

// ErrUnsatisfiable means a Range names no byte of the blob: answer 416.
var ErrUnsatisfiable = errors.New("range not satisfiable")

// ParseRange interprets a Range header for a blob of size bytes. It
// returns ok=false when the whole blob should be sent: no header, a header
// that is not a single well-formed bytes range (RFC 9110 lets a server
// ignore those), or a range covering everything. It returns
// ErrUnsatisfiable when the single range starts past the end.
func ParseRange(h string, size int64) (start, length int64, ok bool, err error) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, nil
	}
	switch {
	case first == "" && last == "":
		return 0, 0, false, nil
	case first == "":
		// suffix range: the last N bytes
		n, err := digits(last)
		if err != nil {
			return 0, 0, false, nil
		}
		if n == 0 {
			return 0, 0, false, ErrUnsatisfiable
		}
		n = min(n, size)
		start, length = size-n, n
	default:
		s, err := digits(first)
		if err != nil {
			return 0, 0, false, nil
		}
		if s >= size {
			return 0, 0, false, ErrUnsatisfiable
		}
		end := size - 1
		if last != "" {
			e, err := digits(last)
			if err != nil || e < s {
				return 0, 0, false, nil
			}
			end = min(e, size-1)
		}
		start, length = s, end-s+1
	}
	if start == 0 && length == size {
		return 0, 0, false, nil
	}
	return start, length, true, nil
}

// digits parses a non-negative decimal of only ASCII digits.
func digits(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}
