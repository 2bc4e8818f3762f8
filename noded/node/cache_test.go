package node

import (
	"fmt"
	"testing"

	"dstor/shared/cid"
	"dstor/shared/httpblob"
)

func TestCacheAdmission(t *testing.T) {
	const budget = 1 << 20 // items up to 64 KiB
	tests := []struct {
		name   string
		budget int64
		size   int
		want   bool
	}{
		{"small blob", budget, 4 << 10, true},
		{"exactly budget/16", budget, budget / 16, true},
		{"one byte over budget/16", budget, budget/16 + 1, false},
		{"half the budget", budget, budget / 2, false},
		{"empty blob", budget, 0, true},
		{"cache disabled", -1, 1, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(tt.budget)
			defer c.close()
			if got := c.fits(int64(tt.size)); got != tt.want {
				t.Errorf("fits(%d) = %v, want %v", tt.size, got, tt.want)
			}
			data := make([]byte, tt.size)
			id := cid.Sum([]byte(fmt.Sprint(i)))
			c.add(httpblob.NewBlob(id, data))
			if c.c != nil {
				c.c.Wait() // let ristretto apply the set
			}
			got, ok := c.get(id)
			if ok != tt.want || (ok && len(got.Data()) != tt.size) {
				t.Errorf("after add of %d bytes: get = %v, %v; want cached %v", tt.size, got, ok, tt.want)
			}
		})
	}
}

func TestCacheKeepsWorkingSetAgainstLargeBlob(t *testing.T) {
	const budget = 1 << 20
	c := newCache(budget)
	defer c.close()
	var small []cid.CID
	for i := range 8 {
		id := cid.Sum([]byte{byte(i)})
		small = append(small, id)
		c.add(httpblob.NewBlob(id, make([]byte, 32<<10)))
	}
	c.c.Wait()
	big := cid.Sum([]byte("big"))
	c.add(httpblob.NewBlob(big, make([]byte, budget/2)))
	c.c.Wait()
	if _, ok := c.get(big); ok {
		t.Error("a blob of half the budget entered the cache")
	}
	for _, id := range small {
		if _, ok := c.get(id); !ok {
			t.Errorf("small blob %s was evicted by a large one that must not be admitted", id)
		}
	}
}
