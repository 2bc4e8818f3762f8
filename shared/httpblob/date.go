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
	sec int64
	v   []string
}

// Set puts the current Date on h.
func (d *DateCache) Set(h http.Header) {
	now := time.Now()
	cur := d.p.Load()
	if cur == nil || cur.sec != now.Unix() {
		cur = &dateValue{sec: now.Unix(), v: []string{now.UTC().Format(http.TimeFormat)}}
		d.p.Store(cur)
	}
	h["Date"] = cur.v
}
