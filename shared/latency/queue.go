package latency

import (
	"sync"
	"time"
)

// packet is a datagram waiting for its due time.
type packet struct {
	due int64  // nanoseconds on the proxy's monotonic clock
	seq uint64 // arrival order: equal due times leave in it
	buf *[]byte
	f   *flow
}

func (a *packet) before(b *packet) bool {
	return a.due < b.due || a.due == b.due && a.seq < b.seq
}

// queue delays packets: a min-heap by due time drained by one goroutine
// with one timer, so a delayed packet costs no goroutine of its own.
type queue struct {
	send func(*packet) // delivers; called from run only
	now  func() int64

	mu   sync.Mutex
	heap []packet
	seq  uint64
	wake chan struct{} // a packet became the earliest
}

func newQueue(now func() int64, send func(*packet)) *queue {
	return &queue{send: send, now: now, wake: make(chan struct{}, 1)}
}

// push queues p, which owns its buffer from now on.
func (q *queue) push(p packet) {
	q.mu.Lock()
	p.seq = q.seq
	q.seq++
	q.heap = append(q.heap, p)
	i := q.up(len(q.heap) - 1)
	q.mu.Unlock()
	if i == 0 {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// run sends packets as they fall due until stop is closed, then returns
// the buffers of those still queued to free.
func (q *queue) run(stop <-chan struct{}, free func(*[]byte)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []packet
	for {
		q.mu.Lock()
		now := q.now()
		for len(q.heap) > 0 && q.heap[0].due <= now {
			due = append(due, q.pop())
		}
		wait := time.Duration(-1)
		if len(q.heap) > 0 {
			wait = time.Duration(q.heap[0].due - now)
		}
		q.mu.Unlock()
		for i := range due {
			q.send(&due[i])
			due[i] = packet{}
		}
		due = due[:0]
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-stop:
			q.mu.Lock()
			for _, p := range q.heap {
				free(p.buf)
			}
			q.heap = nil
			q.mu.Unlock()
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// len is the number of queued packets.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.heap)
}

// pop removes the earliest packet; q.mu is held.
func (q *queue) pop() packet {
	h := q.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = packet{}
	q.heap = h[:last]
	q.down(0)
	return top
}

func (q *queue) up(i int) int {
	h := q.heap
	for i > 0 {
		parent := (i - 1) / 2
		if !h[i].before(&h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
	return i
}

func (q *queue) down(i int) {
	h := q.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h[r].before(&h[l]) {
			c = r
		}
		if !h[c].before(&h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
