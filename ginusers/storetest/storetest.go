// Package storetest provides a conformance test suite for implementations of
// [ginusers.Store], and [MemStore], an in-memory Store for tests and
// examples. It follows the shape of testing/fstest: a map-backed
// implementation plus a function that checks any implementation.
//
// A backend's test calls [Run] with a factory that returns an empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) ginusers.Store[storetest.Fields] {
//			return mybackend.New[storetest.Fields](...)
//		})
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// Fields are the application fields of the users that [Run] stores: two
// optional strings and an integer, so a backend shows it stores, clears and
// returns non-string fields too.
type Fields struct {
	FirstName *string `json:"first_name,omitempty" bson:"first_name,omitempty"`
	LastName  *string `json:"last_name,omitempty" bson:"last_name,omitempty"`
	Age       int     `json:"age" bson:"age"`
}

// Run runs the conformance suite against the stores newStore returns, as
// subtests of t. newStore is called once per subtest and must return a new,
// empty store; it may register cleanups on the *testing.T it is given.
//
// The suite checks the contract documented on [ginusers.Store]: a round
// trip of every field (TokensValidAfter at millisecond precision), new IDs on
// Create, case-insensitive (Unicode-aware) and exact e-mail matching,
// [ginusers.ErrUserExists] and [ginusers.ErrUserNotFound] where due,
// unparsable ids, a cancelled context, copies rather than shared values, and
// races: of 20 concurrent Creates or Updates that claim one address, exactly
// one wins. Subtests do not run in parallel with each other.
func Run(t *testing.T, newStore func(t *testing.T) ginusers.Store[Fields]) {
	t.Helper()
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatalf("newStore() = nil, want a store")
			}
			tc.fn(t, s)
		})
	}
}

type store = ginusers.Store[Fields]
type user = ginusers.User[Fields]

var suite = []struct {
	name string
	fn   func(t *testing.T, s store)
}{
	{"Create then Get returns every field", testRoundTrip},
	{"Create then GetByEmail returns every field", testRoundTripByEmail},
	{"Create stores zero values", testZeroValues},
	{"Create sets a new ID and ignores the caller's", testCreateSetsID},
	{"Create refuses a taken address", testCreateDuplicate},
	{"Create refuses a taken address in another case", testCreateDuplicateCase},
	{"Create refuses a taken address in another Unicode case", testCreateDuplicateUnicode},
	{"GetByEmail ignores case", testGetByEmailCase},
	{"GetByEmail matches exactly, not as a pattern", testGetByEmailExact},
	{"stored e-mail keeps its case", testEmailKeepsCase},
	{"missing user is not found", testMissing},
	{"unparsable id is not found", testGarbageIDs},
	{"Update stores every field", testUpdateAllFields},
	{"Update clears fields", testUpdateClears},
	{"Update refuses another user's address", testUpdateDuplicate},
	{"Update may change the case of one's own address", testUpdateOwnCase},
	{"Update frees the old address", testUpdateFreesOldEmail},
	{"Update of a missing user is not found and creates nothing", testUpdateMissing},
	{"Delete removes the user", testDelete},
	{"Delete frees the address", testDeleteFreesEmail},
	{"stored and returned users are copies", testCopies},
	{"cancelled context returns an error", testCancelled},
	{"concurrent Creates of one address: exactly one wins", testConcurrentCreate},
	{"concurrent Updates to one address: exactly one wins", testConcurrentUpdate},
}

func ptr[T any](v T) *T { return &v }

// ms is a time with millisecond precision, outside UTC, which every backend
// must return unchanged (compared with time.Time.Equal).
var ms = time.Date(2024, time.May, 17, 10, 30, 15, 123_000_000, time.FixedZone("CEST", 2*60*60))

func fullUser(email string) *user {
	return &user{
		Email:            email,
		HashedPassword:   "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		Active:           true,
		Superuser:        true,
		Verified:         true,
		TokensValidAfter: ms,
		Fields:           Fields{FirstName: ptr("Arthur"), LastName: ptr("Pendragon"), Age: 42},
	}
}

func create(t *testing.T, s store, u *user) *user {
	t.Helper()
	if err := s.Create(t.Context(), u); err != nil {
		t.Fatalf("Create(%q) error = %v, want nil", u.Email, err)
	}
	if u.ID == "" {
		t.Fatalf("Create(%q) set ID = %q, want a non-empty ID", u.Email, u.ID)
	}
	return u
}

func mustGet(t *testing.T, s store, id string) *user {
	t.Helper()
	got, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%q) error = %v, want nil", id, err)
	}
	if got == nil {
		t.Fatalf("Get(%q) = nil, nil; want a user", id)
	}
	return got
}

func mustGetByEmail(t *testing.T, s store, email string) *user {
	t.Helper()
	got, err := s.GetByEmail(t.Context(), email)
	if err != nil {
		t.Fatalf("GetByEmail(%q) error = %v, want nil", email, err)
	}
	if got == nil {
		t.Fatalf("GetByEmail(%q) = nil, nil; want a user", email)
	}
	return got
}

func wantErr(t *testing.T, call string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s error = %v, want one wrapping %v", call, err, want)
	}
}

func wantNotFoundByEmail(t *testing.T, s store, email string) {
	t.Helper()
	u, err := s.GetByEmail(t.Context(), email)
	if !errors.Is(err, ginusers.ErrUserNotFound) {
		t.Fatalf("GetByEmail(%q) = %v, %v; want an error wrapping %v", email, describe(u), err, ginusers.ErrUserNotFound)
	}
}

func wantNotFound(t *testing.T, s store, id string) {
	t.Helper()
	u, err := s.Get(t.Context(), id)
	if !errors.Is(err, ginusers.ErrUserNotFound) {
		t.Fatalf("Get(%q) = %v, %v; want an error wrapping %v", id, describe(u), err, ginusers.ErrUserNotFound)
	}
}

func describe(u *user) string {
	if u == nil {
		return "<nil>"
	}
	return fmt.Sprintf("user{ID: %q, Email: %q}", u.ID, u.Email)
}

// diff returns "" if got and want hold the same user, or what differs.
func diff(got, want *user) string {
	var d []string
	if got.ID != want.ID {
		d = append(d, fmt.Sprintf("ID = %q, want %q", got.ID, want.ID))
	}
	if got.Email != want.Email {
		d = append(d, fmt.Sprintf("Email = %q, want %q", got.Email, want.Email))
	}
	if got.HashedPassword != want.HashedPassword {
		d = append(d, fmt.Sprintf("HashedPassword = %q, want %q", got.HashedPassword, want.HashedPassword))
	}
	if got.Active != want.Active {
		d = append(d, fmt.Sprintf("Active = %v, want %v", got.Active, want.Active))
	}
	if got.Superuser != want.Superuser {
		d = append(d, fmt.Sprintf("Superuser = %v, want %v", got.Superuser, want.Superuser))
	}
	if got.Verified != want.Verified {
		d = append(d, fmt.Sprintf("Verified = %v, want %v", got.Verified, want.Verified))
	}
	if !got.TokensValidAfter.Equal(want.TokensValidAfter) {
		d = append(d, fmt.Sprintf("TokensValidAfter = %v, want %v", got.TokensValidAfter, want.TokensValidAfter))
	}
	if !reflect.DeepEqual(got.Fields, want.Fields) {
		d = append(d, fmt.Sprintf("Fields = %s, want %s", showFields(got.Fields), showFields(want.Fields)))
	}
	return strings.Join(d, "; ")
}

func showFields(f Fields) string {
	s := func(p *string) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", *p)
	}
	return fmt.Sprintf("{FirstName: %s, LastName: %s, Age: %d}", s(f.FirstName), s(f.LastName), f.Age)
}

func wantUser(t *testing.T, call string, got, want *user) {
	t.Helper()
	if d := diff(got, want); d != "" {
		t.Fatalf("%s returned a different user: %s", call, d)
	}
}

func testRoundTrip(t *testing.T, s store) {
	u := create(t, s, fullUser("king.arthur@camelot.bt"))
	want := fullUser("king.arthur@camelot.bt")
	want.ID = u.ID
	wantUser(t, fmt.Sprintf("Get(%q)", u.ID), mustGet(t, s, u.ID), want)
}

func testRoundTripByEmail(t *testing.T, s store) {
	u := create(t, s, fullUser("lancelot@camelot.bt"))
	want := fullUser("lancelot@camelot.bt")
	want.ID = u.ID
	wantUser(t, `GetByEmail("lancelot@camelot.bt")`, mustGetByEmail(t, s, "lancelot@camelot.bt"), want)
}

func testZeroValues(t *testing.T, s store) {
	u := create(t, s, &user{Email: "merlin@camelot.bt"})
	want := &user{ID: u.ID, Email: "merlin@camelot.bt"}
	got := mustGet(t, s, u.ID)
	wantUser(t, fmt.Sprintf("Get(%q)", u.ID), got, want)
	if !got.TokensValidAfter.IsZero() {
		t.Fatalf("Get(%q).TokensValidAfter = %v, want the zero time", u.ID, got.TokensValidAfter)
	}
}

func testCreateSetsID(t *testing.T, s store) {
	for i, callerID := range []string{"caller-chosen", "0123456789abcdef01234567", "00000000-0000-4000-8000-000000000000"} {
		email := fmt.Sprintf("knight%d@camelot.bt", i)
		u := fullUser(email)
		u.ID = callerID
		create(t, s, u)
		if u.ID == callerID {
			t.Fatalf("Create(%q) kept the caller's ID %q, want a new one", email, callerID)
		}
		wantNotFound(t, s, callerID)
		if got := mustGet(t, s, u.ID); got.Email != email {
			t.Fatalf("Get(%q).Email = %q, want %q", u.ID, got.Email, email)
		}
	}
	a := create(t, s, fullUser("gawain@camelot.bt"))
	b := create(t, s, fullUser("gareth@camelot.bt"))
	if a.ID == b.ID {
		t.Fatalf("Create() gave two users the same ID %q, want distinct IDs", a.ID)
	}
}

func testCreateDuplicate(t *testing.T, s store) {
	first := create(t, s, fullUser("king.arthur@camelot.bt"))
	dup := fullUser("king.arthur@camelot.bt")
	dup.Fields.Age = 7
	wantErr(t, `Create("king.arthur@camelot.bt") of a taken address`, s.Create(t.Context(), dup), ginusers.ErrUserExists)
	got := mustGetByEmail(t, s, "king.arthur@camelot.bt")
	if got.ID != first.ID || got.Fields.Age != 42 {
		t.Fatalf("GetByEmail() after a refused Create = %s (age %d), want the first user %q (age 42)", describe(got), got.Fields.Age, first.ID)
	}
}

func testCreateDuplicateCase(t *testing.T, s store) {
	create(t, s, fullUser("King.Arthur@Camelot.bt"))
	wantErr(t, `Create("king.arthur@camelot.bt") after "King.Arthur@Camelot.bt"`,
		s.Create(t.Context(), fullUser("king.arthur@camelot.bt")), ginusers.ErrUserExists)
	wantErr(t, `Create("KING.ARTHUR@CAMELOT.BT") after "King.Arthur@Camelot.bt"`,
		s.Create(t.Context(), fullUser("KING.ARTHUR@CAMELOT.BT")), ginusers.ErrUserExists)
}

func testCreateDuplicateUnicode(t *testing.T, s store) {
	create(t, s, fullUser("Иван@пример.рф"))
	wantErr(t, `Create("иван@пример.рф") after "Иван@пример.рф"`,
		s.Create(t.Context(), fullUser("иван@пример.рф")), ginusers.ErrUserExists)
	wantErr(t, `Create("ИВАН@ПРИМЕР.РФ") after "Иван@пример.рф"`,
		s.Create(t.Context(), fullUser("ИВАН@ПРИМЕР.РФ")), ginusers.ErrUserExists)
	got := mustGetByEmail(t, s, "иван@ПРИМЕР.рф")
	if got.Email != "Иван@пример.рф" {
		t.Fatalf(`GetByEmail("иван@ПРИМЕР.рф").Email = %q, want "Иван@пример.рф"`, got.Email)
	}
}

func testGetByEmailCase(t *testing.T, s store) {
	u := create(t, s, fullUser("King.Arthur@Camelot.bt"))
	for _, email := range []string{"King.Arthur@Camelot.bt", "king.arthur@camelot.bt", "KING.ARTHUR@CAMELOT.BT", "kInG.aRtHuR@cAmElOt.Bt"} {
		if got := mustGetByEmail(t, s, email); got.ID != u.ID {
			t.Fatalf("GetByEmail(%q).ID = %q, want %q", email, got.ID, u.ID)
		}
	}
}

func testGetByEmailExact(t *testing.T, s store) {
	arthur := create(t, s, fullUser("king.arthur@camelot.bt"))
	kay := create(t, s, fullUser("sirXkay@camelot.bt"))
	for _, email := range []string{
		"",
		"kingarthur@camelot.bt",        // dots ignored, as some providers do
		"king.arthur+grail@camelot.bt", // sub-addressing
		"king.arthur@camelot.b.",
		"king.arthur@camelot.b",
		"ing.arthur@camelot.bt",
		"king.arthur@camelot.bt ",
		" king.arthur@camelot.bt",
		"king.arthur@camelot.bt\x00",
		"sir.kay@camelot.bt", // '.' as a pattern wildcard would match sirXkay
		"sir.kay@camelot.b.",
		"sir.*",
		".*",
		"^king.*$",
		"king%",
		"%",
		"*",
		"/.*/i",
		`{"$ne": ""}`,
		`{"$regex": ".*"}`,
		`{"$gt": ""}`,
		"$ne",
	} {
		wantNotFoundByEmail(t, s, email)
	}
	if got := mustGetByEmail(t, s, "king.arthur@camelot.bt"); got.ID != arthur.ID {
		t.Fatalf(`GetByEmail("king.arthur@camelot.bt").ID = %q, want %q`, got.ID, arthur.ID)
	}
	if got := mustGetByEmail(t, s, "sirxkay@camelot.bt"); got.ID != kay.ID {
		t.Fatalf(`GetByEmail("sirxkay@camelot.bt").ID = %q, want %q`, got.ID, kay.ID)
	}
}

func testEmailKeepsCase(t *testing.T, s store) {
	u := create(t, s, fullUser("King.Arthur@Camelot.bt"))
	if got := mustGet(t, s, u.ID); got.Email != "King.Arthur@Camelot.bt" {
		t.Fatalf(`Get(%q).Email = %q, want "King.Arthur@Camelot.bt"`, u.ID, got.Email)
	}
	if got := mustGetByEmail(t, s, "king.arthur@camelot.bt"); got.Email != "King.Arthur@Camelot.bt" {
		t.Fatalf(`GetByEmail("king.arthur@camelot.bt").Email = %q, want "King.Arthur@Camelot.bt"`, got.Email)
	}
}

// goneID returns the ID of a user that existed and was deleted: an ID the
// store can parse but does not hold.
func goneID(t *testing.T, s store) string {
	t.Helper()
	u := create(t, s, fullUser("mordred@camelot.bt"))
	if err := s.Delete(t.Context(), u.ID); err != nil {
		t.Fatalf("Delete(%q) error = %v, want nil", u.ID, err)
	}
	return u.ID
}

func testMissing(t *testing.T, s store) {
	id := goneID(t, s)
	create(t, s, fullUser("king.arthur@camelot.bt"))
	wantNotFound(t, s, id)
	wantNotFoundByEmail(t, s, "mordred@camelot.bt")
	wantNotFoundByEmail(t, s, "nobody@camelot.bt")
	u := fullUser("mordred@camelot.bt")
	u.ID = id
	wantErr(t, fmt.Sprintf("Update(ID %q) of a missing user", id), s.Update(t.Context(), u), ginusers.ErrUserNotFound)
	wantErr(t, fmt.Sprintf("Delete(%q) of a missing user", id), s.Delete(t.Context(), id), ginusers.ErrUserNotFound)
}

var garbageIDs = []string{
	"",
	"not-an-id",
	"zzzzzzzzzzzzzzzzzzzzzzzz",
	"0123456789abcdef0123456",
	"0123456789abcdef012345678",
	"0123456789ABCDEF01234567X",
	"../../etc/passwd",
	`{"$ne": null}`,
	`{"$gt": ""}`,
	"\x00",
	"\xff\xfe",
	strings.Repeat("a", 10000),
}

func testGarbageIDs(t *testing.T, s store) {
	create(t, s, fullUser("king.arthur@camelot.bt"))
	for _, id := range garbageIDs {
		short := id
		if len(short) > 30 {
			short = short[:30] + "..."
		}
		wantNotFound(t, s, id)
		u := fullUser("king.arthur@camelot.bt")
		u.ID = id
		wantErr(t, fmt.Sprintf("Update(ID %q)", short), s.Update(t.Context(), u), ginusers.ErrUserNotFound)
		wantErr(t, fmt.Sprintf("Delete(%q)", short), s.Delete(t.Context(), id), ginusers.ErrUserNotFound)
	}
	mustGetByEmail(t, s, "king.arthur@camelot.bt")
}

func testUpdateAllFields(t *testing.T, s store) {
	u := create(t, s, &user{
		Email:          "percival@camelot.bt",
		HashedPassword: "old-hash",
		Active:         true,
		Fields:         Fields{FirstName: ptr("Percival")},
	})
	upd := &user{
		ID:               u.ID,
		Email:            "Sir.Percival@Camelot.bt",
		HashedPassword:   "new-hash",
		Active:           false,
		Superuser:        true,
		Verified:         true,
		TokensValidAfter: ms,
		Fields:           Fields{FirstName: ptr("Perceval"), LastName: ptr("of Wales"), Age: 31},
	}
	if err := s.Update(t.Context(), upd); err != nil {
		t.Fatalf("Update(%q) error = %v, want nil", u.ID, err)
	}
	want := *upd
	want.Fields = Fields{FirstName: ptr("Perceval"), LastName: ptr("of Wales"), Age: 31}
	wantUser(t, fmt.Sprintf("Get(%q) after Update", u.ID), mustGet(t, s, u.ID), &want)
	wantUser(t, `GetByEmail("sir.percival@camelot.bt") after Update`, mustGetByEmail(t, s, "sir.percival@camelot.bt"), &want)
	wantNotFoundByEmail(t, s, "percival@camelot.bt")
}

func testUpdateClears(t *testing.T, s store) {
	u := create(t, s, fullUser("bedivere@camelot.bt"))
	upd := &user{ID: u.ID, Email: "bedivere@camelot.bt"}
	if err := s.Update(t.Context(), upd); err != nil {
		t.Fatalf("Update(%q) error = %v, want nil", u.ID, err)
	}
	got := mustGet(t, s, u.ID)
	wantUser(t, fmt.Sprintf("Get(%q) after an Update to zero values", u.ID), got, &user{ID: u.ID, Email: "bedivere@camelot.bt"})
	if !got.TokensValidAfter.IsZero() {
		t.Fatalf("Get(%q).TokensValidAfter = %v after clearing it, want the zero time", u.ID, got.TokensValidAfter)
	}
}

func testUpdateDuplicate(t *testing.T, s store) {
	arthur := create(t, s, fullUser("King.Arthur@Camelot.bt"))
	kay := create(t, s, &user{Email: "kay@camelot.bt", HashedPassword: "kay-hash", Active: true, Fields: Fields{Age: 40}})
	wantArthur := mustGet(t, s, arthur.ID)
	wantKay := mustGet(t, s, kay.ID)
	for _, email := range []string{"King.Arthur@Camelot.bt", "king.arthur@camelot.bt", "KING.ARTHUR@CAMELOT.BT"} {
		upd := &user{ID: kay.ID, Email: email, HashedPassword: "changed", Superuser: true, Fields: Fields{Age: 99, FirstName: ptr("Kay")}}
		wantErr(t, fmt.Sprintf("Update(kay, Email %q) to Arthur's address", email), s.Update(t.Context(), upd), ginusers.ErrUserExists)
		wantUser(t, fmt.Sprintf("Get(kay) after the refused Update to %q", email), mustGet(t, s, kay.ID), wantKay)
		wantUser(t, fmt.Sprintf("Get(arthur) after Kay's refused Update to %q", email), mustGet(t, s, arthur.ID), wantArthur)
		if got := mustGetByEmail(t, s, "kay@camelot.bt"); got.ID != kay.ID {
			t.Fatalf(`GetByEmail("kay@camelot.bt").ID = %q after the refused Update, want %q`, got.ID, kay.ID)
		}
		if got := mustGetByEmail(t, s, email); got.ID != arthur.ID {
			t.Fatalf("GetByEmail(%q).ID = %q after Kay's refused Update, want Arthur's %q", email, got.ID, arthur.ID)
		}
	}
}

func testUpdateOwnCase(t *testing.T, s store) {
	u := create(t, s, fullUser("king.arthur@camelot.bt"))
	upd := fullUser("King.Arthur@Camelot.bt")
	upd.ID = u.ID
	if err := s.Update(t.Context(), upd); err != nil {
		t.Fatalf(`Update(%q, Email "King.Arthur@Camelot.bt") of one's own address error = %v, want nil`, u.ID, err)
	}
	for _, email := range []string{"king.arthur@camelot.bt", "King.Arthur@Camelot.bt"} {
		got := mustGetByEmail(t, s, email)
		if got.ID != u.ID || got.Email != "King.Arthur@Camelot.bt" {
			t.Fatalf(`GetByEmail(%q) = %s, want ID %q with Email "King.Arthur@Camelot.bt"`, email, describe(got), u.ID)
		}
	}
	// Updating without changing the address at all works too.
	if err := s.Update(t.Context(), upd); err != nil {
		t.Fatalf("Update(%q) with unchanged fields error = %v, want nil", u.ID, err)
	}
}

func testUpdateFreesOldEmail(t *testing.T, s store) {
	u := create(t, s, fullUser("tristan@camelot.bt"))
	upd := fullUser("tristram@camelot.bt")
	upd.ID = u.ID
	if err := s.Update(t.Context(), upd); err != nil {
		t.Fatalf("Update(%q) error = %v, want nil", u.ID, err)
	}
	other := create(t, s, fullUser("Tristan@Camelot.bt"))
	if other.ID == u.ID {
		t.Fatalf("Create() reused ID %q of a live user", u.ID)
	}
}

func testUpdateMissing(t *testing.T, s store) {
	id := goneID(t, s)
	u := fullUser("galahad@camelot.bt")
	u.ID = id
	wantErr(t, fmt.Sprintf("Update(ID %q) of a deleted user", id), s.Update(t.Context(), u), ginusers.ErrUserNotFound)
	wantNotFound(t, s, id)
	wantNotFoundByEmail(t, s, "galahad@camelot.bt")
}

func testDelete(t *testing.T, s store) {
	u := create(t, s, fullUser("gawain@camelot.bt"))
	keep := create(t, s, fullUser("gaheris@camelot.bt"))
	if err := s.Delete(t.Context(), u.ID); err != nil {
		t.Fatalf("Delete(%q) error = %v, want nil", u.ID, err)
	}
	wantNotFound(t, s, u.ID)
	wantNotFoundByEmail(t, s, "gawain@camelot.bt")
	wantErr(t, fmt.Sprintf("second Delete(%q)", u.ID), s.Delete(t.Context(), u.ID), ginusers.ErrUserNotFound)
	if got := mustGet(t, s, keep.ID); got.Email != "gaheris@camelot.bt" {
		t.Fatalf(`Get(%q).Email = %q after deleting another user, want "gaheris@camelot.bt"`, keep.ID, got.Email)
	}
}

func testDeleteFreesEmail(t *testing.T, s store) {
	u := create(t, s, fullUser("Gawain@Camelot.bt"))
	if err := s.Delete(t.Context(), u.ID); err != nil {
		t.Fatalf("Delete(%q) error = %v, want nil", u.ID, err)
	}
	again := create(t, s, fullUser("gawain@camelot.bt"))
	if got := mustGetByEmail(t, s, "GAWAIN@camelot.bt"); got.ID != again.ID {
		t.Fatalf("GetByEmail() after re-creating a deleted address = %s, want ID %q", describe(got), again.ID)
	}
}

func testCopies(t *testing.T, s store) {
	in := fullUser("elaine@astolat.bt")
	create(t, s, in)
	want := fullUser("elaine@astolat.bt")
	want.ID = in.ID

	// Changing the caller's value after Create changes nothing stored.
	in.Email = "changed@astolat.bt"
	in.Active = false
	*in.Fields.FirstName = "changed"
	in.Fields.Age = 1
	wantUser(t, "Get() after the caller changed the created *User", mustGet(t, s, want.ID), want)

	// Changing a returned value changes nothing stored.
	got := mustGet(t, s, want.ID)
	got.Email = "changed@astolat.bt"
	*got.Fields.LastName = "changed"
	got.Fields.Age = 2
	byEmail := mustGetByEmail(t, s, "elaine@astolat.bt")
	*byEmail.Fields.FirstName = "changed"
	wantUser(t, "Get() after the caller changed returned *Users", mustGet(t, s, want.ID), want)

	// Changing the caller's value after Update changes nothing stored.
	upd := fullUser("elaine@astolat.bt")
	upd.ID = want.ID
	if err := s.Update(t.Context(), upd); err != nil {
		t.Fatalf("Update(%q) error = %v, want nil", upd.ID, err)
	}
	*upd.Fields.FirstName = "changed"
	upd.HashedPassword = "changed"
	wantUser(t, "Get() after the caller changed the updated *User", mustGet(t, s, want.ID), want)
}

func testCancelled(t *testing.T, s store) {
	u := create(t, s, fullUser("king.arthur@camelot.bt"))
	want := mustGet(t, s, u.ID)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wantCancelled := func(call string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s with a cancelled context error = nil, want an error", call)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a cancelled context error = %v, want one wrapping %v", call, err, context.Canceled)
		}
	}

	wantCancelled("Create()", s.Create(ctx, fullUser("lancelot@camelot.bt")))
	_, err := s.Get(ctx, u.ID)
	wantCancelled("Get()", err)
	_, err = s.GetByEmail(ctx, "king.arthur@camelot.bt")
	wantCancelled("GetByEmail()", err)
	upd := fullUser("king.arthur@camelot.bt")
	upd.ID, upd.Fields.Age = u.ID, 1
	wantCancelled("Update()", s.Update(ctx, upd))
	wantCancelled("Delete()", s.Delete(ctx, u.ID))

	// Nothing happened.
	wantNotFoundByEmail(t, s, "lancelot@camelot.bt")
	wantUser(t, "Get() after cancelled calls", mustGet(t, s, u.ID), want)
}

const racers = 20

// tally counts the results of racing calls.
type tally struct {
	mu     sync.Mutex
	ok     int
	exists int
	other  []error
}

func (r *tally) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		r.ok++
	case errors.Is(err, ginusers.ErrUserExists):
		r.exists++
	default:
		r.other = append(r.other, err)
	}
}

func (r *tally) check(t *testing.T, call string) {
	t.Helper()
	if r.ok != 1 || r.exists != racers-1 || len(r.other) != 0 {
		t.Fatalf("%d concurrent %s: %d succeeded, %d returned ErrUserExists, %d other errors (%v); want 1, %d, 0",
			racers, call, r.ok, r.exists, len(r.other), r.other, racers-1)
	}
}

func testConcurrentCreate(t *testing.T, s store) {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		res   tally
		ids   = make([]string, racers)
	)
	for i := range racers {
		email := "grail@camelot.bt"
		if i%2 == 1 {
			email = "Grail@Camelot.BT"
		}
		wg.Go(func() {
			u := fullUser(email)
			u.Fields.Age = i
			<-start
			err := s.Create(t.Context(), u)
			if err == nil {
				ids[i] = u.ID
			}
			res.add(err)
		})
	}
	close(start)
	wg.Wait()
	res.check(t, "Create() of one address")

	got := mustGetByEmail(t, s, "GRAIL@camelot.bt")
	if ids[got.Fields.Age] != got.ID {
		t.Fatalf("GetByEmail() = %s (age %d), want the user whose Create succeeded", describe(got), got.Fields.Age)
	}
}

func testConcurrentUpdate(t *testing.T, s store) {
	users := make([]*user, racers)
	for i := range users {
		u := fullUser(fmt.Sprintf("knight%02d@camelot.bt", i))
		u.Fields.Age = i
		users[i] = create(t, s, u)
	}
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		res    tally
		winner = -1
		mu     sync.Mutex
	)
	for i, u := range users {
		email := "grail@camelot.bt"
		if i%2 == 1 {
			email = "Grail@Camelot.BT"
		}
		wg.Go(func() {
			upd := *u
			upd.Email = email
			<-start
			err := s.Update(t.Context(), &upd)
			if err == nil {
				mu.Lock()
				winner = i
				mu.Unlock()
			}
			res.add(err)
		})
	}
	close(start)
	wg.Wait()
	res.check(t, "Update() of different users to one address")

	got := mustGetByEmail(t, s, "grail@camelot.bt")
	if got.ID != users[winner].ID {
		t.Fatalf("GetByEmail(\"grail@camelot.bt\") = %s, want the user whose Update succeeded (%q)", describe(got), users[winner].ID)
	}
	for i, u := range users {
		if i == winner {
			continue
		}
		if got := mustGet(t, s, u.ID); got.Email != u.Email {
			t.Fatalf("Get(%q).Email = %q after its Update lost the race, want %q", u.ID, got.Email, u.Email)
		}
	}
}
