package storetest_test

import (
	"errors"
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

// FuzzMemStoreListCursor: a cursor from a URL never panics List; it is
// either refused with ErrBadCursor or read as a position, giving at most
// a page of users in order.
func FuzzMemStoreListCursor(f *testing.F) {
	s := storetest.NewMemStore[storetest.Fields]()
	for _, e := range []string{"kay@camelot.bt", "bors@camelot.bt", "merlin@avalon.bt", "Иван@пример.рф"} {
		if err := s.Create(f.Context(), &ginusers.User[storetest.Fields]{Email: e}); err != nil {
			f.Fatal(err)
		}
	}
	orders := []ginusers.UserQuery{
		{Sort: ginusers.SortByEmail, Limit: 2}, {Sort: ginusers.SortByEmail, Descending: true, Limit: 2},
		{Sort: ginusers.SortByID, Limit: 2}, {Sort: ginusers.SortByID, Descending: true, Limit: 2},
	}
	for _, q := range orders {
		page, err := s.List(f.Context(), q)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(page.Next)
		f.Add(page.Next[:len(page.Next)-1])
	}
	f.Add("ZW1haWw6a2luZy5hcnRodXJAY2FtZWxvdC5idA")
	f.Fuzz(func(t *testing.T, c string) {
		for _, q := range orders {
			q.After = c
			page, err := s.List(t.Context(), q)
			if err != nil {
				if !errors.Is(err, ginusers.ErrBadCursor) {
					t.Fatalf("List(After %q) error = %v, want nil or one wrapping %v", c, err, ginusers.ErrBadCursor)
				}
				continue
			}
			if len(page.Users) > q.Limit {
				t.Fatalf("List(After %q) = %d users, more than the limit %d", c, len(page.Users), q.Limit)
			}
		}
	})
}

func TestMemStoreListRefusesLimitsOutOfRange(t *testing.T) {
	s := storetest.NewMemStore[storetest.Fields]()
	if err := s.Create(t.Context(), &ginusers.User[storetest.Fields]{Email: "kay@camelot.bt"}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, -1, ginusers.MaxListLimit + 1} {
		if page, err := s.List(t.Context(), ginusers.UserQuery{Limit: limit}); err == nil {
			t.Fatalf("List(Limit %d) = %d users, nil error; want an error", limit, len(page.Users))
		}
	}
}

func TestMemStoreOAuth(t *testing.T) {
	storetest.RunOAuth(t, func(*testing.T) ginusers.Store[storetest.Fields] {
		return storetest.NewMemStore[storetest.Fields]()
	})
}
