package httpblob

import (
	"net/http"
	"sync/atomic"
	"time"
)

// DateCache hands out the Date header value, formatted once per second
// rather than once per response (quic-go's http3 formats it for every
// response that lacks one, a third of a small cached read's serving time).
// The zero value is ready to use.
type DateCache struct {
	p atomic.Pointer[dateValue]
}

type dateValue struct {
	sec  int64
	v    []string
	line []byte // the QPACK field line
}

// Set puts the current Date on h.
func (d *DateCache) Set(h http.Header) {
	h["Date"] = d.current().v
}

func (d *DateCache) current() *dateValue {
	now := time.Now()
	cur := d.p.Load()
	if cur == nil || cur.sec != now.Unix() {
		v := now.UTC().Format(http.TimeFormat)
		cur = &dateValue{sec: now.Unix(), v: []string{v}, line: appendNameRef(nil, qpDate, v)}
		d.p.Store(cur)
	}
	return cur
}
