package ginusers_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

// queryStore is a MemStore that records the queries List and Count get.
type queryStore struct {
	*storetest.MemStore[Fields]
	lists, counts []ginusers.UserQuery
}

func (s *queryStore) List(ctx context.Context, q ginusers.UserQuery) (ginusers.UserPage[Fields], error) {
	s.lists = append(s.lists, q)
	return s.MemStore.List(ctx, q)
}

func (s *queryStore) Count(ctx context.Context, q ginusers.UserQuery) (int64, error) {
	s.counts = append(s.counts, q)
	return s.MemStore.Count(ctx, q)
}

func newListManager(t *testing.T) (*ginusers.Manager[Fields], *queryStore) {
	t.Helper()
	s := &queryStore{MemStore: storetest.NewMemStore[Fields]()}
	m, err := ginusers.New[Fields](s, ginusers.WithSecret(testSecret), ginusers.WithLogger(discardLogger))
	if err != nil {
		t.Fatalf("New() error = %v, want nil", err)
	}
	return m, s
}

func TestListUsersNormalizesTheQuery(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		in   ginusers.UserQuery
		want ginusers.UserQuery // what the store gets
	}{
		{"a zero limit is the default", ginusers.UserQuery{}, ginusers.UserQuery{Limit: ginusers.DefaultListLimit}},
		{"a limit of 1 stays", ginusers.UserQuery{Limit: 1}, ginusers.UserQuery{Limit: 1}},
		{"the maximum limit stays", ginusers.UserQuery{Limit: ginusers.MaxListLimit}, ginusers.UserQuery{Limit: ginusers.MaxListLimit}},
		{"a limit above the maximum is the maximum", ginusers.UserQuery{Limit: ginusers.MaxListLimit + 1}, ginusers.UserQuery{Limit: ginusers.MaxListLimit}},
		{"a huge limit is the maximum", ginusers.UserQuery{Limit: math.MaxInt}, ginusers.UserQuery{Limit: ginusers.MaxListLimit}},
		{"the search is a search key", ginusers.UserQuery{Email: "  King.ARTHUR@Camelot ", Limit: 5}, ginusers.UserQuery{Email: "king.arthur@camelot", Limit: 5}},
		{"a decomposed search is composed", ginusers.UserQuery{Email: "E\u0301LODIE", Limit: 5}, ginusers.UserQuery{Email: "élodie", Limit: 5}},
		{"a blank search is no search", ginusers.UserQuery{Email: " \t ", Limit: 5}, ginusers.UserQuery{Limit: 5}},
		{
			"order, flags and cursor pass unchanged",
			ginusers.UserQuery{Sort: ginusers.SortByID, Descending: true, Active: &yes, Verified: &yes, Superuser: &yes, After: "c", Limit: 7},
			ginusers.UserQuery{Sort: ginusers.SortByID, Descending: true, Active: &yes, Verified: &yes, Superuser: &yes, After: "c", Limit: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, s := newListManager(t)
			_, err := m.ListUsers(t.Context(), tt.in)
			if tt.in.After != "" {
				// The MemStore refuses the made-up cursor; what it got is
				// the point.
				if !errors.Is(err, ginusers.ErrBadCursor) {
					t.Fatalf("ListUsers(%+v) error = %v, want one wrapping %v", tt.in, err, ginusers.ErrBadCursor)
				}
			} else if err != nil {
				t.Fatalf("ListUsers(%+v) error = %v, want nil", tt.in, err)
			}
			if len(s.lists) != 1 {
				t.Fatalf("ListUsers(%+v) called Store.List %d times, want once", tt.in, len(s.lists))
			}
			if got := s.lists[0]; describeQuery(got) != describeQuery(tt.want) {
				t.Fatalf("ListUsers(%+v) passed the store %s, want %s", tt.in, describeQuery(got), describeQuery(tt.want))
			}
		})
	}
}

func TestListUsersRefusesBadQueries(t *testing.T) {
	tests := []struct {
		name string
		in   ginusers.UserQuery
	}{
		{"a negative limit", ginusers.UserQuery{Limit: -1}},
		{"the most negative limit", ginusers.UserQuery{Limit: math.MinInt}},
		{"an unknown sort", ginusers.UserQuery{Sort: ginusers.UserSort(2)}},
		{"a negative sort", ginusers.UserQuery{Sort: ginusers.UserSort(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, s := newListManager(t)
			page, err := m.ListUsers(t.Context(), tt.in)
			if err == nil {
				t.Fatalf("ListUsers(%+v) = %d users, nil error; want an error", tt.in, len(page.Users))
			}
			if len(s.lists) != 0 {
				t.Fatalf("ListUsers(%+v) called Store.List with %+v, want no call", tt.in, s.lists)
			}
		})
	}
}

func TestCountUsersReadsTheFiltersOnly(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		in   ginusers.UserQuery
		want ginusers.UserQuery
	}{
		{"no filter", ginusers.UserQuery{}, ginusers.UserQuery{}},
		{"the search is a search key", ginusers.UserQuery{Email: " CAMELOT "}, ginusers.UserQuery{Email: "camelot"}},
		{"flags pass", ginusers.UserQuery{Active: &yes, Verified: &no, Superuser: &yes}, ginusers.UserQuery{Active: &yes, Verified: &no, Superuser: &yes}},
		{"the cursor and the limit are dropped", ginusers.UserQuery{After: "not a cursor", Limit: 3}, ginusers.UserQuery{}},
		{"the order is dropped", ginusers.UserQuery{Sort: ginusers.SortByID, Descending: true}, ginusers.UserQuery{}},
		// Ignored, as documented: a count never fails for what it does not read.
		{"a negative limit is ignored", ginusers.UserQuery{Email: "x", Limit: -1}, ginusers.UserQuery{Email: "x"}},
		{"an unknown sort is ignored", ginusers.UserQuery{Email: "x", Sort: ginusers.UserSort(9)}, ginusers.UserQuery{Email: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, s := newListManager(t)
			if _, err := m.CountUsers(t.Context(), tt.in); err != nil {
				t.Fatalf("CountUsers(%+v) error = %v, want nil", tt.in, err)
			}
			if len(s.counts) != 1 {
				t.Fatalf("CountUsers(%+v) called Store.Count %d times, want once", tt.in, len(s.counts))
			}
			if got := s.counts[0]; describeQuery(got) != describeQuery(tt.want) {
				t.Fatalf("CountUsers(%+v) passed the store %s, want %s", tt.in, describeQuery(got), describeQuery(tt.want))
			}
		})
	}
}

// TestListUsersPages lists real users through the Manager: the default and
// the maximum page sizes, and a walk by cursor that ends with an empty Next.
func TestListUsersPages(t *testing.T) {
	m, s := newListManager(t)
	ctx := t.Context()
	const n = ginusers.MaxListLimit + 7
	for i := range n {
		u := &User{Email: fmt.Sprintf("Knight%04d@Camelot.bt", i), Active: i%2 == 0}
		if err := s.Create(ctx, u); err != nil {
			t.Fatalf("Create(%q) error = %v, want nil", u.Email, err)
		}
	}
	page, err := m.ListUsers(ctx, ginusers.UserQuery{})
	if err != nil || len(page.Users) != ginusers.DefaultListLimit || page.Next == "" {
		t.Fatalf("ListUsers() = %d users, Next %q, %v; want %d users and a cursor", len(page.Users), page.Next, err, ginusers.DefaultListLimit)
	}
	if page.Users[0].Email != "Knight0000@Camelot.bt" || page.Users[49].Email != "Knight0049@Camelot.bt" {
		t.Fatalf("ListUsers() = %q ... %q, want Knight0000 ... Knight0049", page.Users[0].Email, page.Users[49].Email)
	}
	page, err = m.ListUsers(ctx, ginusers.UserQuery{Limit: 10 * ginusers.MaxListLimit})
	if err != nil || len(page.Users) != ginusers.MaxListLimit || page.Next == "" {
		t.Fatalf("ListUsers(Limit %d) = %d users, Next %q, %v; want %d and a cursor", 10*ginusers.MaxListLimit, len(page.Users), page.Next, err, ginusers.MaxListLimit)
	}
	page, err = m.ListUsers(ctx, ginusers.UserQuery{Limit: 10 * ginusers.MaxListLimit, After: page.Next})
	if err != nil || len(page.Users) != 7 || page.Next != "" {
		t.Fatalf("ListUsers(after the first %d) = %d users, Next %q, %v; want the last 7 and no cursor", ginusers.MaxListLimit, len(page.Users), page.Next, err)
	}
	// A walk of the active users in descending ID order, three at a time.
	q := ginusers.UserQuery{Active: ptrTo(true), Sort: ginusers.SortByID, Descending: true, Limit: 3}
	seen := map[string]bool{}
	last := ""
	for pages := 0; ; pages++ {
		page, err := m.ListUsers(ctx, q)
		if err != nil {
			t.Fatalf("ListUsers(%+v) error = %v, want nil", q, err)
		}
		for _, u := range page.Users {
			if !u.Active || seen[u.ID] || last != "" && u.ID >= last {
				t.Fatalf("ListUsers(%+v) returned %q (active %v, seen %v) after %q, want a new active user in descending ID order", q, u.ID, u.Active, seen[u.ID], last)
			}
			seen[u.ID], last = true, u.ID
		}
		if page.Next == "" {
			break
		}
		if pages > n {
			t.Fatalf("ListUsers(%+v): still issuing cursors after %d pages", q, pages)
		}
		q.After = page.Next
	}
	wantActive := (n + 1) / 2
	if len(seen) != wantActive {
		t.Fatalf("the pages of ListUsers(active) held %d users, want %d", len(seen), wantActive)
	}
	if c, err := m.CountUsers(ctx, ginusers.UserQuery{Active: ptrTo(true), Limit: -1, After: "x"}); err != nil || c != int64(wantActive) {
		t.Fatalf("CountUsers(active) = %d, %v; want %d", c, err, wantActive)
	}
	// A cursor of another direction is refused, as the store refuses it.
	first, _ := m.ListUsers(ctx, ginusers.UserQuery{Limit: 1})
	if _, err := m.ListUsers(ctx, ginusers.UserQuery{Limit: 1, Descending: true, After: first.Next}); !errors.Is(err, ginusers.ErrBadCursor) {
		t.Fatalf("ListUsers() with a cursor of another direction error = %v, want one wrapping %v", err, ginusers.ErrBadCursor)
	}
}

func ptrTo[T any](v T) *T { return &v }

// describeQuery shows q with the flags' values rather than their addresses.
func describeQuery(q ginusers.UserQuery) string {
	flag := func(b *bool) string {
		if b == nil {
			return "nil"
		}
		return fmt.Sprint(*b)
	}
	return fmt.Sprintf("{Email %q, Active %s, Verified %s, Superuser %s, Sort %v, Descending %v, After %q, Limit %d}",
		q.Email, flag(q.Active), flag(q.Verified), flag(q.Superuser), q.Sort, q.Descending, q.After, q.Limit)
}

func TestParseUserSort(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ginusers.UserSort
		ok   bool
	}{
		{"", ginusers.SortByEmail, true},
		{"email", ginusers.SortByEmail, true},
		{"id", ginusers.SortByID, true},
		{"Email", 0, false},
		{"email_key", 0, false},
		{"_id", 0, false},
		{"hashed_password", 0, false},
		{`{"$natural": 1}`, 0, false},
	} {
		got, ok := ginusers.ParseUserSort(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Fatalf("ParseUserSort(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && got.String() != tt.in && tt.in != "" {
			t.Fatalf("ParseUserSort(%q).String() = %q, want the name parsed", tt.in, got.String())
		}
	}
	if got := ginusers.UserSort(7).String(); got != "UserSort(7)" {
		t.Fatalf("UserSort(7).String() = %q, want %q", got, "UserSort(7)")
	}
}
