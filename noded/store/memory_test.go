package store

import (
	"errors"
	"testing"

	"dstor/shared/cid"
)

func TestMemoryConformance(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		m := NewMemory(1 << 40)
		t.Cleanup(func() {
			checkMemory(t, m)
			m.Close()
		})
		return m
	})
	t.Run("NoSpace", func(t *testing.T) {
		m := NewMemory(4 << 20)
		testNoSpace(t, m)
		checkMemory(t, m)
	})
}

// checkMemory asserts that no writer holds bytes any more and that the
// bytes used are those of the stored blobs.
func checkMemory(t *testing.T, m *Memory) {
	t.Helper()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.pending != 0 {
		t.Errorf("writers still hold %d bytes", m.pending)
	}
	var used int64
	for _, b := range m.blobs {
		used += int64(len(b.data))
	}
	if used != m.used {
		t.Errorf("Used = %d, the blobs hold %d bytes", m.used, used)
	}
}

// TestMemoryCapacity: the capacity bounds stored bytes and bytes being
// written together, and Space reports what stored blobs leave of it.
func TestMemoryCapacity(t *testing.T) {
	m := NewMemory(100)
	if c, f, err := m.Space(); c != 100 || f != 100 || err != nil {
		t.Fatalf("Space = %d, %d, %v; want 100, 100, nil", c, f, err)
	}
	a := commit(t, m, blobOf(30, 1))
	if c, f, _ := m.Space(); c != 100 || f != 70 {
		t.Errorf("Space after storing 30 bytes = %d, %d; want 100, 70", c, f)
	}

	w1, _ := m.Create()
	defer w1.Abort()
	if _, err := w1.Write(blobOf(50, 2)); err != nil {
		t.Fatalf("Write of 50 bytes with 70 free: %v", err)
	}
	w2, _ := m.Create()
	defer w2.Abort()
	if _, err := w2.Write(blobOf(21, 3)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Write of 21 bytes while 30 are stored and 50 being written = %v, want ErrNoSpace", err)
	}
	if _, err := w2.Write(nil); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Write after ErrNoSpace = %v, want ErrNoSpace", err)
	}
	w1.Abort()
	w3, _ := m.Create()
	defer w3.Abort()
	if _, err := w3.Write(blobOf(70, 4)); err != nil {
		t.Fatalf("Write of 70 bytes once the other writer aborted: %v", err)
	}
	if err := w3.Commit(cid.Sum(blobOf(70, 4)), 70); err != nil {
		t.Fatal(err)
	}
	if c, f, _ := m.Space(); c != 100 || f != 0 {
		t.Errorf("Space when full = %d, %d; want 100, 0", c, f)
	}
	// A duplicate of a stored blob needs room while it is written...
	w4, _ := m.Create()
	if _, err := w4.Write(blobOf(30, 1)); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Write into a full store = %v, want ErrNoSpace", err)
	}
	// ...and a removal makes room.
	if err := m.Remove(a); err != nil {
		t.Fatal(err)
	}
	commit(t, m, blobOf(30, 1))
	checkMemory(t, m)
}

func TestMemoryClose(t *testing.T) {
	m := NewMemory(1 << 20)
	c := commit(t, m, []byte("x"))
	w, _ := m.Create()
	w.Write([]byte("y"))
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Has(c); ok {
		t.Error("Has after Close = true")
	}
	if _, err := m.Create(); err == nil {
		t.Error("Create after Close succeeded")
	}
	if err := w.Commit(cid.Sum([]byte("y")), 1); err == nil {
		t.Error("Commit after Close succeeded")
	}
}
