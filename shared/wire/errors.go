package wire

import (
	"errors"
	"fmt"
)

// Code classifies a protocol failure.
type Code uint16

// Error codes carried in failed responses.
const (
	CodeInternal     Code = 1
	CodeBadRequest   Code = 2
	CodeNotFound     Code = 3
	CodeHashMismatch Code = 4
	CodeNoSpace      Code = 5
	CodeForbidden    Code = 6
	CodeUnavailable  Code = 7
)

// Error is a failure reported by the other end.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("dstor/1 error %d: %s", e.Code, e.Message) }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &wire.Error{Code: wire.CodeNotFound}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf builds an *Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is.
var (
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrHashMismatch = &Error{Code: CodeHashMismatch}
	ErrNoSpace      = &Error{Code: CodeNoSpace}
)

// codeOf maps an arbitrary handler error to the error sent on the wire.
func codeOf(err error) *Error {
	var we *Error
	if errors.As(err, &we) {
		return we
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}
