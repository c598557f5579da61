package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// The listing cases of the suite: Store.List and Store.Count.

// listOrders are the four orders a listing has.
var listOrders = []struct {
	sort ginusers.UserSort
	desc bool
}{
	{ginusers.SortByEmail, false},
	{ginusers.SortByEmail, true},
	{ginusers.SortByID, false},
	{ginusers.SortByID, true},
}

func orderName(sort ginusers.UserSort, desc bool) string {
	if desc {
		return sort.String() + " descending"
	}
	return sort.String()
}

// listKey is the sort key of u in an order: its [ginusers.EmailKey] or its
// ID, both compared as strings, byte by byte.
func listKey(u *user, sort ginusers.UserSort) string {
	if sort == ginusers.SortByID {
		return u.ID
	}
	return ginusers.EmailKey(u.Email)
}

// sorted returns users in the order (sort, desc).
func sorted(users []*user, sort ginusers.UserSort, desc bool) []*user {
	out := slices.Clone(users)
	slices.SortFunc(out, func(a, b *user) int {
		if desc {
			a, b = b, a
		}
		return strings.Compare(listKey(a, sort), listKey(b, sort))
	})
	return out
}

// knights are the addresses of the listing cases: mixed case, a Unicode
// local part, international domains (whose key is their ASCII form) and a
// decomposed-looking one, so an order by the stored address instead of its
// key, or by characters instead of bytes, shows.
var knights = []string{
	"King.Arthur@Camelot.bt", "lancelot@camelot.bt", "Gawain@Camelot.BT", "percival@camelot.bt",
	"Иван@пример.рф", "alice@bücher.de", "ÉLODIE@camelot.bt", "zed@example.com",
	"bors@camelot.bt", "Galahad@camelot.bt", "kay@camelot.bt", "tristan@lyonesse.bt",
	"isolde@lyonesse.bt", "merlin@avalon.bt", "Morgan@Avalon.bt", "mordred@camelot.bt",
}

// createKnights creates a user for each of knights, the i-th with is_active
// bit 0 of i, is_verified bit 1, is_superuser bit 2 (every combination
// twice), and returns them as stored.
func createKnights(t *testing.T, s store) []*user {
	t.Helper()
	users := make([]*user, len(knights))
	for i, email := range knights {
		u := fullUser(email)
		u.Active, u.Verified, u.Superuser = i&1 != 0, i&2 != 0, i&4 != 0
		u.Fields.Age = i
		create(t, s, u)
		users[i] = mustGet(t, s, u.ID)
	}
	return users
}

// list calls List and fails t on an error.
func list(t *testing.T, s store, q ginusers.UserQuery) ginusers.UserPage[Fields] {
	t.Helper()
	page, err := s.List(t.Context(), q)
	if err != nil {
		t.Fatalf("List(%s) error = %v, want nil", showQuery(q), err)
	}
	if len(page.Users) > q.Limit {
		t.Fatalf("List(%s) returned %d users, more than the limit", showQuery(q), len(page.Users))
	}
	return page
}

// count calls Count and fails t on an error.
func count(t *testing.T, s store, q ginusers.UserQuery) int64 {
	t.Helper()
	n, err := s.Count(t.Context(), q)
	if err != nil {
		t.Fatalf("Count(%s) error = %v, want nil", showQuery(q), err)
	}
	return n
}

// walk reads every page of q (q.After must be empty), checking that every
// page but the last is full and has a cursor, that the last has none, and
// that no page after a cursor is empty, and returns the users in order.
func walk(t *testing.T, s store, q ginusers.UserQuery) []*user {
	t.Helper()
	var all []*user
	for pages := 0; ; pages++ {
		page := list(t, s, q)
		if pages > 0 && len(page.Users) == 0 {
			t.Fatalf("List(%s): page %d after a cursor is empty; Next must be empty on the last page", showQuery(q), pages+1)
		}
		all = append(all, page.Users...)
		if page.Next == "" {
			return all
		}
		if len(page.Users) != q.Limit {
			t.Fatalf("List(%s): page %d has %d users and a cursor, want a full page (%d)", showQuery(q), pages+1, len(page.Users), q.Limit)
		}
		if pages > len(knights)+100 {
			t.Fatalf("List(%s): still issuing cursors after %d pages", showQuery(q), pages+1)
		}
		q.After = page.Next
	}
}

func showQuery(q ginusers.UserQuery) string {
	var parts []string
	if q.Email != "" {
		parts = append(parts, fmt.Sprintf("Email %q", q.Email))
	}
	for _, f := range []struct {
		name string
		v    *bool
	}{{"Active", q.Active}, {"Verified", q.Verified}, {"Superuser", q.Superuser}} {
		if f.v != nil {
			parts = append(parts, fmt.Sprintf("%s %v", f.name, *f.v))
		}
	}
	parts = append(parts, "order "+orderName(q.Sort, q.Descending), fmt.Sprintf("Limit %d", q.Limit))
	if q.After != "" {
		parts = append(parts, fmt.Sprintf("After %q", q.After))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func emails(users []*user) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Email
	}
	return out
}

// wantUsers fails t unless got holds exactly want, in order, with every
// field as stored.
func wantUsers(t *testing.T, call string, got, want []*user) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %d users %q, want %d %q", call, len(got), emails(got), len(want), emails(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID {
			t.Fatalf("%s = %q, want %q (in this order)", call, emails(got), emails(want))
		}
		wantUser(t, fmt.Sprintf("%s user %d", call, i), got[i], want[i])
	}
}

func testListEmpty(t *testing.T, s store) {
	for _, o := range listOrders {
		q := ginusers.UserQuery{Sort: o.sort, Descending: o.desc, Limit: 10}
		page := list(t, s, q)
		if len(page.Users) != 0 || page.Next != "" {
			t.Fatalf("List(%s) of an empty store = %d users, Next %q; want none and no cursor", showQuery(q), len(page.Users), page.Next)
		}
	}
	if n := count(t, s, ginusers.UserQuery{}); n != 0 {
		t.Fatalf("Count() of an empty store = %d, want 0", n)
	}
}

func testListOrder(t *testing.T, s store) {
	users := createKnights(t, s)
	// The orders, spelled out for the e-mail key: bytes, not the stored
	// address (King.Arthur would come before alice), not letters (É and И
	// come after every ASCII letter), international domains by their ASCII
	// form.
	wantEmail := []string{
		"alice@bücher.de", "bors@camelot.bt", "Galahad@camelot.bt", "Gawain@Camelot.BT", "isolde@lyonesse.bt",
		"kay@camelot.bt", "King.Arthur@Camelot.bt", "lancelot@camelot.bt", "merlin@avalon.bt", "mordred@camelot.bt",
		"Morgan@Avalon.bt", "percival@camelot.bt", "tristan@lyonesse.bt", "zed@example.com", "ÉLODIE@camelot.bt",
		"Иван@пример.рф",
	}
	if got := emails(sorted(users, ginusers.SortByEmail, false)); !slices.Equal(got, wantEmail) {
		t.Fatalf("the suite's own e-mail order = %q, want %q", got, wantEmail)
	}
	for _, o := range listOrders {
		for _, limit := range []int{len(users), len(users) + 1, ginusers.MaxListLimit} {
			q := ginusers.UserQuery{Sort: o.sort, Descending: o.desc, Limit: limit}
			page := list(t, s, q)
			if page.Next != "" {
				t.Fatalf("List(%s) of %d users = Next %q, want none: the page holds them all", showQuery(q), len(users), page.Next)
			}
			wantUsers(t, fmt.Sprintf("List(%s)", showQuery(q)), page.Users, sorted(users, o.sort, o.desc))
		}
	}
}

func testListPages(t *testing.T, s store) {
	users := createKnights(t, s)
	filters := []struct {
		name string
		q    ginusers.UserQuery
		keep func(*user) bool
	}{
		{"no filter", ginusers.UserQuery{}, func(*user) bool { return true }},
		{"active", ginusers.UserQuery{Active: ptr(true)}, func(u *user) bool { return u.Active }},
		{"search camelot", ginusers.UserQuery{Email: "camelot"}, func(u *user) bool { return strings.Contains(ginusers.EmailKey(u.Email), "camelot") }},
	}
	for _, f := range filters {
		var want []*user
		for _, u := range users {
			if f.keep(u) {
				want = append(want, u)
			}
		}
		for _, o := range listOrders {
			// Limits that divide the count (the last page exactly full),
			// that do not, and larger than the count.
			for _, limit := range []int{1, 2, 3, 4, 5, 7, 8, len(want) - 1, len(want), len(want) + 1} {
				if limit < 1 {
					continue
				}
				q := f.q
				q.Sort, q.Descending, q.Limit = o.sort, o.desc, limit
				got := walk(t, s, q)
				wantUsers(t, fmt.Sprintf("the pages of List(%s) (%s)", showQuery(q), f.name), got, sorted(want, o.sort, o.desc))
			}
		}
	}
}

func testListFlags(t *testing.T, s store) {
	users := createKnights(t, s)
	flag := []*bool{nil, ptr(true), ptr(false)}
	searches := []string{"", "camelot", "A"}
	for _, active := range flag {
		for _, verified := range flag {
			for _, superuser := range flag {
				for _, search := range searches {
					q := ginusers.UserQuery{
						Email: ginusers.SearchKey(search), Active: active, Verified: verified, Superuser: superuser,
						Limit: ginusers.MaxListLimit,
					}
					var want []*user
					for _, u := range users {
						if (active == nil || u.Active == *active) && (verified == nil || u.Verified == *verified) &&
							(superuser == nil || u.Superuser == *superuser) &&
							strings.Contains(ginusers.EmailKey(u.Email), strings.ToLower(search)) {
							want = append(want, u)
						}
					}
					for _, o := range listOrders {
						q.Sort, q.Descending = o.sort, o.desc
						page := list(t, s, q)
						wantUsers(t, fmt.Sprintf("List(%s)", showQuery(q)), page.Users, sorted(want, o.sort, o.desc))
						if page.Next != "" {
							t.Fatalf("List(%s) = Next %q, want none", showQuery(q), page.Next)
						}
					}
					if n := count(t, s, q); n != int64(len(want)) {
						t.Fatalf("Count(%s) = %d, want %d", showQuery(q), n, len(want))
					}
				}
			}
		}
	}
}

// searchCase is a search and the addresses it must find, in e-mail order.
type searchCase struct {
	search string
	want   []string
}

// checkSearches lists every case in each order, and counts it.
func checkSearches(t *testing.T, s store, users []*user, cases []searchCase) {
	t.Helper()
	byEmail := map[string]*user{}
	for _, u := range users {
		byEmail[u.Email] = u
	}
	for _, c := range cases {
		want := make([]*user, len(c.want))
		for i, e := range c.want {
			if want[i] = byEmail[e]; want[i] == nil {
				t.Fatalf("search case %q wants %q, which the case did not create", c.search, e)
			}
		}
		q := ginusers.UserQuery{Email: ginusers.SearchKey(c.search), Limit: ginusers.MaxListLimit}
		for _, o := range listOrders {
			q.Sort, q.Descending = o.sort, o.desc
			page := list(t, s, q)
			wantUsers(t, fmt.Sprintf("List(search %q, order %s)", c.search, orderName(o.sort, o.desc)), page.Users, sorted(want, o.sort, o.desc))
		}
		if n := count(t, s, q); n != int64(len(want)) {
			t.Fatalf("Count(search %q) = %d, want %d", c.search, n, len(want))
		}
	}
}

func testListSearch(t *testing.T, s store) {
	users := createKnights(t, s)
	camelot := []string{
		"bors@camelot.bt", "Galahad@camelot.bt", "Gawain@Camelot.BT", "kay@camelot.bt", "King.Arthur@Camelot.bt",
		"lancelot@camelot.bt", "mordred@camelot.bt", "percival@camelot.bt", "ÉLODIE@camelot.bt",
	}
	checkSearches(t, s, users, []searchCase{
		{"camelot", camelot},
		{"CAMELOT", camelot},
		{"Camelot.BT", camelot},
		{"  camelot ", camelot}, // SearchKey trims
		{"king.arthur@camelot.bt", []string{"King.Arthur@Camelot.bt"}},
		{"ARTHUR", []string{"King.Arthur@Camelot.bt"}},
		{"lyonesse", []string{"isolde@lyonesse.bt", "tristan@lyonesse.bt"}},
		{"AVALON", []string{"merlin@avalon.bt", "Morgan@Avalon.bt"}},
		{"mor", []string{"mordred@camelot.bt", "Morgan@Avalon.bt"}},
		{"иван", []string{"Иван@пример.рф"}},
		{"ИВАН", []string{"Иван@пример.рф"}},
		{"élodie", []string{"ÉLODIE@camelot.bt"}},
		{"E\u0301LODIE", []string{"ÉLODIE@camelot.bt"}}, // decomposed: NFC makes it É
		{"@xn--bcher-kva.de", []string{"alice@bücher.de"}},
		{"bücher", nil}, // domains are searched in their ASCII form
		{"nobody", nil},
		{"camelot.bt ", camelot},
		{"camelot.bt@", nil},
	})
}

func testListSearchLiteral(t *testing.T, s store) {
	var users []*user
	add := func(email string) {
		users = append(users, create(t, s, &user{Email: email, Active: true}))
	}
	// One address with each metacharacter between k and n, and the
	// addresses that the character, taken as a pattern, would match.
	metas := []string{".", "*", "+", "?", "(", ")", "[", "]", "^", "$", "|", `\`, "{", "}", "{1}"}
	for _, m := range metas {
		add("k" + m + "n@meta.bt")
	}
	for _, e := range []string{"kn@meta.bt", "kkn@meta.bt", "kxn@meta.bt", "abc@meta.bt", "a.c@meta.bt", "n@meta.bt"} {
		add(e)
	}
	all := make([]string, len(users))
	for i, u := range sorted(users, ginusers.SortByEmail, false) {
		all[i] = u.Email
	}
	cases := []searchCase{
		{"a.c", []string{"a.c@meta.bt"}},
		{"abc", []string{"abc@meta.bt"}},
		{".", all}, // every address has a dot, in its domain
		{"^k", nil},
		{"n@meta.bt$", nil},
		{".*", nil},
		{"k.*n", nil},
		{"(k|n)", nil},
		{"[kx]n", nil},
		{`\w`, nil},
		{`\`, []string{`k\n@meta.bt`}},
		{`\n`, []string{`k\n@meta.bt`}},
		{"/.*/i", nil},
		{`{"$ne": ""}`, nil},
		{`{"$regex": ".*"}`, nil},
		{`{"$gt": ""}`, nil},
		{"$where", nil},
		{"$ne", nil},
		{"\x00", nil},
		{"k\x00n", nil},
		{"\xff\xfe", nil},
		{"%", nil},
		{"_", nil},
	}
	for _, m := range metas {
		cases = append(cases, searchCase{"k" + m + "n", []string{"k" + m + "n@meta.bt"}})
	}
	checkSearches(t, s, users, cases)
}

func testListBadCursor(t *testing.T, s store) {
	createKnights(t, s)
	// A cursor of each order.
	type issued struct {
		sort   ginusers.UserSort
		desc   bool
		cursor string
	}
	var cursors []issued
	for _, o := range listOrders {
		q := ginusers.UserQuery{Sort: o.sort, Descending: o.desc, Limit: 2}
		page := list(t, s, q)
		if page.Next == "" {
			t.Fatalf("List(%s) of %d users = no cursor, want one", showQuery(q), len(knights))
		}
		cursors = append(cursors, issued{o.sort, o.desc, page.Next})
	}
	wantBad := func(q ginusers.UserQuery, why string) {
		t.Helper()
		page, err := s.List(t.Context(), q)
		if !errors.Is(err, ginusers.ErrBadCursor) {
			t.Fatalf("List(%s) with %s = %d users, %v; want an error wrapping %v", showQuery(q), why, len(page.Users), err, ginusers.ErrBadCursor)
		}
		if len(page.Users) != 0 || page.Next != "" {
			t.Fatalf("List(%s) with %s returned %d users and Next %q with its error, want none", showQuery(q), why, len(page.Users), page.Next)
		}
	}
	for _, c := range cursors {
		for _, o := range listOrders {
			if o.sort == c.sort && o.desc == c.desc {
				continue
			}
			wantBad(ginusers.UserQuery{Sort: o.sort, Descending: o.desc, Limit: 2, After: c.cursor},
				fmt.Sprintf("a cursor of order %s", orderName(c.sort, c.desc)))
		}
		for _, cut := range []int{1, 2, 3, 4, len(c.cursor) / 2, len(c.cursor) - 1} {
			if cut >= len(c.cursor) {
				continue
			}
			wantBad(ginusers.UserQuery{Sort: c.sort, Descending: c.desc, Limit: 2, After: c.cursor[:len(c.cursor)-cut]},
				fmt.Sprintf("its own cursor without its last %d characters", cut))
		}
		mid := len(c.cursor) / 2
		flipped := c.cursor[:mid] + string(flip(c.cursor[mid])) + c.cursor[mid+1:]
		wantBad(ginusers.UserQuery{Sort: c.sort, Descending: c.desc, Limit: 2, After: flipped}, "its own cursor with a character changed")
		wantBad(ginusers.UserQuery{Sort: c.sort, Descending: c.desc, Limit: 2, After: c.cursor + "A"}, "its own cursor with a character added")
		wantBad(ginusers.UserQuery{Sort: c.sort, Descending: c.desc, Limit: 2, After: c.cursor + c.cursor}, "its own cursor twice")
		for _, br := range []string{"\n", "\r\n"} {
			// Base64 decoders skip line breaks: a store must not.
			wantBad(ginusers.UserQuery{Sort: c.sort, Descending: c.desc, Limit: 2, After: c.cursor[:mid] + br + c.cursor[mid:]},
				fmt.Sprintf("its own cursor with %q inside", br))
		}
	}
	garbage := []string{
		"x", "AAAA", "!!!!", "%2F", "not a cursor", "\x00", "\xff\xfe", `{"$gt": ""}`, "email:king.arthur@camelot.bt",
		"id:000000000000000000000000", "ZW1haWw6a2luZy5hcnRodXJAY2FtZWxvdC5idA", // base64 of email:king.arthur@camelot.bt
		strings.Repeat("A", 10000),
	}
	for _, g := range garbage {
		for _, o := range listOrders {
			short := g
			if len(short) > 30 {
				short = short[:30] + "..."
			}
			wantBad(ginusers.UserQuery{Sort: o.sort, Descending: o.desc, Limit: 2, After: g}, fmt.Sprintf("the cursor %q", short))
		}
	}
	// The cursors still work.
	for _, c := range cursors {
		list(t, s, ginusers.UserQuery{Sort: c.sort, Descending: c.desc, Limit: 2, After: c.cursor})
	}
}

// flip returns another base64url character than c.
func flip(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

func testListChangesBetweenPages(t *testing.T, s store) {
	for round, o := range listOrders {
		domain := fmt.Sprintf("@round%d.bt", round)
		search := ginusers.SearchKey(domain)
		var start []*user
		for i := range 12 {
			start = append(start, create(t, s, fullUser(fmt.Sprintf("knight%02d%s", i*2+1, domain))))
		}
		order := sorted(start, o.sort, o.desc)
		q := ginusers.UserQuery{Email: search, Sort: o.sort, Descending: o.desc, Limit: 3}
		seen := map[string]int{}
		deleted := map[string]bool{}
		var created []string
		for page := 0; ; page++ {
			p := list(t, s, q)
			for _, u := range p.Users {
				seen[u.ID]++
				if deleted[u.ID] {
					t.Fatalf("round %s: List() returned %q, deleted before its page was read", orderName(o.sort, o.desc), u.Email)
				}
			}
			if p.Next == "" {
				break
			}
			if page > 20 {
				t.Fatalf("round %s: still issuing cursors after %d pages", orderName(o.sort, o.desc), page)
			}
			// Between pages: delete a user already seen and one not seen
			// yet (the next one in order), and create users whose keys come
			// before and after the cursor's.
			for _, u := range order {
				if seen[u.ID] > 0 && !deleted[u.ID] {
					deleteUser(t, s, u)
					deleted[u.ID] = true
					break
				}
			}
			for _, u := range order {
				if seen[u.ID] == 0 && !deleted[u.ID] {
					deleteUser(t, s, u)
					deleted[u.ID] = true
					break
				}
			}
			for _, n := range []int{page*4 + 100, page*4 + 2} {
				u := create(t, s, fullUser(fmt.Sprintf("knight%02d%s", n, domain)))
				created = append(created, u.ID)
			}
			q.After = p.Next
		}
		for id, n := range seen {
			if n > 1 {
				t.Fatalf("round %s: List() pages returned user %q %d times, want at most once", orderName(o.sort, o.desc), id, n)
			}
		}
		for _, u := range start {
			if !deleted[u.ID] && seen[u.ID] != 1 {
				t.Fatalf("round %s: List() pages returned %q, which stayed, %d times; want once", orderName(o.sort, o.desc), u.Email, seen[u.ID])
			}
		}
		for _, id := range created {
			if !deleted[id] {
				deleteUser(t, s, &user{ID: id})
			}
		}
		for _, u := range start {
			if !deleted[u.ID] {
				deleteUser(t, s, u)
			}
		}
		if n := count(t, s, ginusers.UserQuery{Email: search}); n != 0 {
			t.Fatalf("round %s: Count() after deleting every user of the round = %d, want 0", orderName(o.sort, o.desc), n)
		}
	}
}

func deleteUser(t *testing.T, s store, u *user) {
	t.Helper()
	if err := s.Delete(t.Context(), u.ID, ginusers.UserCondition{}); err != nil {
		t.Fatalf("Delete(%q) error = %v, want nil", u.ID, err)
	}
}

func testCountIgnoresPaging(t *testing.T, s store) {
	users := createKnights(t, s)
	page := list(t, s, ginusers.UserQuery{Limit: 1})
	for _, q := range []ginusers.UserQuery{
		{},
		{Limit: 1, After: page.Next},
		{Sort: ginusers.SortByID, Descending: true, Limit: 3},
	} {
		if n := count(t, s, q); n != int64(len(users)) {
			t.Fatalf("Count(%s) = %d, want %d: Count reads the filters only", showQuery(q), n, len(users))
		}
	}
	// Count follows changes.
	deleteUser(t, s, users[0])
	if n := count(t, s, ginusers.UserQuery{}); n != int64(len(users)-1) {
		t.Fatalf("Count() after a delete = %d, want %d", n, len(users)-1)
	}
	update(t, s, users[1].ID, ginusers.UserChange[Fields]{Superuser: ptr(!users[1].Superuser)}, ginusers.UserCondition{})
	wantSuper := 0
	for _, u := range users[2:] {
		if u.Superuser {
			wantSuper++
		}
	}
	if !users[1].Superuser {
		wantSuper++
	}
	if n := count(t, s, ginusers.UserQuery{Superuser: ptr(true)}); n != int64(wantSuper) {
		t.Fatalf("Count(Superuser true) after an Update = %d, want %d", n, wantSuper)
	}
}

func testListCopies(t *testing.T, s store) {
	u := create(t, s, fullUser("elaine@astolat.bt"))
	want := mustGet(t, s, u.ID)
	page := list(t, s, ginusers.UserQuery{Limit: 10})
	if len(page.Users) != 1 {
		t.Fatalf("List() = %d users, want 1", len(page.Users))
	}
	got := page.Users[0]
	got.Email = "changed@astolat.bt"
	*got.Fields.FirstName = "changed"
	got.RevokedTokens["JTI1"] = ms.Add(time.Hour)
	wantUser(t, "Get() after the caller changed a listed *User", mustGet(t, s, u.ID), want)
}

func testListCancelled(t *testing.T, s store) {
	createKnights(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, o := range listOrders {
		q := ginusers.UserQuery{Sort: o.sort, Descending: o.desc, Limit: 5}
		if _, err := s.List(ctx, q); !errors.Is(err, context.Canceled) {
			t.Fatalf("List(%s) with a cancelled context error = %v, want one wrapping %v", showQuery(q), err, context.Canceled)
		}
	}
	if _, err := s.Count(ctx, ginusers.UserQuery{Active: ptr(true)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Count() with a cancelled context error = %v, want one wrapping %v", err, context.Canceled)
	}
}
