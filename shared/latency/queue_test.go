package latency

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQueueOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		dues []int64
	}{
		{"equal due times keep arrival order", []int64{5, 5, 5, 5, 5, 5}},
		{"earliest first", []int64{9, 3, 7, 1, 8}},
		{"ties among others", []int64{4, 2, 4, 1, 2, 4, 3}},
		{"random", func() []int64 {
			r := rand.New(rand.NewPCG(1, 2))
			d := make([]int64, 500)
			for i := range d {
				d[i] = r.Int64N(50)
			}
			return d
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue(nil, nil)
			for i, d := range tc.dues {
				b := []byte{byte(i), byte(i >> 8)}
				q.push(packet{due: d, buf: &b})
			}
			type got struct {
				due int64
				i   int
			}
			var out []got
			for q.len() > 0 {
				p := q.pop()
				out = append(out, got{p.due, int((*p.buf)[0]) | int((*p.buf)[1])<<8})
			}
			ok := slices.IsSortedFunc(out, func(a, b got) int {
				if a.due != b.due {
					return int(a.due - b.due)
				}
				return a.i - b.i
			})
			if !ok || len(out) != len(tc.dues) {
				t.Fatalf("popped %v", out)
			}
		})
	}
}
