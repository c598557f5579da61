package storetest_test

import (
	"testing"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

func TestMemStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) ginusers.Store[storetest.Fields] {
		return storetest.NewMemStore[storetest.Fields]()
	})
}

func TestMemStoreZeroValue(t *testing.T) {
	storetest.Run(t, func(*testing.T) ginusers.Store[storetest.Fields] {
		return new(storetest.MemStore[storetest.Fields])
	})
}

type node struct {
	Name string
	Next *node
}

type deepFields struct {
	Tags    []string
	Scores  map[string][]int
	Any     any
	Array   [2]*int
	Ring    *node
	private *int
}

func TestMemStoreCopiesDeeply(t *testing.T) {
	ctx := t.Context()
	s := storetest.NewMemStore[deepFields]()
	n := 7
	ring := &node{Name: "a"}
	ring.Next = &node{Name: "b", Next: ring}
	in := &ginusers.User[deepFields]{
		Email: "bors@camelot.bt",
		Fields: deepFields{
			Tags:    []string{"knight"},
			Scores:  map[string][]int{"joust": {1, 2}},
			Any:     &node{Name: "any"},
			Array:   [2]*int{&n, nil},
			Ring:    ring,
			private: &n,
		},
	}
	if err := s.Create(ctx, in); err != nil {
		t.Fatalf("Create() error = %v, want nil", err)
	}
	in.Fields.Tags[0] = "changed"
	in.Fields.Scores["joust"][0] = 100
	in.Fields.Any.(*node).Name = "changed"
	*in.Fields.Array[0] = 100
	ring.Next.Name = "changed"

	got, err := s.Get(ctx, in.ID)
	if err != nil {
		t.Fatalf("Get() error = %v, want nil", err)
	}
	f := got.Fields
	if f.Tags[0] != "knight" || f.Scores["joust"][0] != 1 || f.Any.(*node).Name != "any" || *f.Array[0] != 7 || f.Array[1] != nil {
		t.Fatalf("Get().Fields = %+v, want the values at Create", f)
	}
	if f.Ring.Next.Name != "b" || f.Ring.Next.Next != f.Ring {
		t.Fatalf("Get().Fields.Ring = %+v, want a copied two-node ring", f.Ring)
	}
	if f.Ring == ring {
		t.Fatalf("Get().Fields.Ring is the caller's pointer, want a copy")
	}
	if f.private != &n {
		t.Fatalf("Get().Fields.private = %p, want the shallow copy %p", f.private, &n)
	}
	if got := s.Len(); got != 1 {
		t.Fatalf("Len() = %d, want 1", got)
	}
}

func TestMemStoreOAuth(t *testing.T) {
	storetest.RunOAuth(t, func(*testing.T) ginusers.Store[storetest.Fields] {
		return storetest.NewMemStore[storetest.Fields]()
	})
}
