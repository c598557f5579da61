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
// trip of every field (revoked-token expiries at millisecond precision), new
// IDs on Create, case-insensitive (Unicode-aware) and exact e-mail
// matching, [ginusers.ErrUserExists] and [ginusers.ErrUserNotFound] where
// due, unparsable ids, a cancelled context, copies rather than shared
// values; that Update writes only the fields its change names and only
// while its conditions hold ([ginusers.ErrConflict] otherwise, with nothing
// written); and races: of 20 concurrent Creates or Updates that claim one
// address, exactly one wins; of 20 concurrent conditional Updates whose
// conditions exclude each other, exactly one wins; concurrent Updates of
// different fields all survive, and no flag is ever reverted by another
// writer's unrelated change. For listing: List in both orders and
// directions (e-mail keys and IDs compared byte by byte), every flag and
// the e-mail search alone and combined, with Count agreeing; the search as
// a case-insensitive substring taken literally (regular-expression
// metacharacters, operator-looking text, NUL); pages of every size that
// return each user once, with a cursor exactly when a page follows;
// [ginusers.ErrBadCursor] for a cursor of another order or direction, a
// garbage, truncated or altered one; no survivor missed and no user
// repeated when users are created and deleted between pages; copies; a
// cancelled context. Subtests do not run in parallel with each other.
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
	{"Create refuses a taken address whose domain differs only in its IDNA form", testCreateDuplicateIDNA},
	{"GetByEmail ignores case", testGetByEmailCase},
	{"GetByEmail matches exactly, not as a pattern", testGetByEmailExact},
	{"stored e-mail keeps its case", testEmailKeepsCase},
	{"missing user is not found", testMissing},
	{"unparsable id is not found", testGarbageIDs},
	{"Update stores every field", testUpdateAllFields},
	{"Update clears fields", testUpdateClears},
	{"Update writes only the fields it names", testUpdateOnlyNamed},
	{"Update with an empty change writes nothing", testUpdateEmpty},
	{"Update refuses an unknown field name", testUpdateUnknownField},
	{"Update adds and forgets revoked tokens; a new epoch empties them", testUpdateRevokedTokens},
	{"Update whose condition fails changes nothing and says so", testUpdateConditionFails},
	{"Update whose conditions hold writes", testUpdateConditionHolds},
	{"Update refuses another user's address", testUpdateDuplicate},
	{"Update may change the case of one's own address", testUpdateOwnCase},
	{"Update frees the old address", testUpdateFreesOldEmail},
	{"Update of a missing user is not found and creates nothing", testUpdateMissing},
	{"Delete removes the user", testDelete},
	{"Delete frees the address", testDeleteFreesEmail},
	{"Delete whose condition fails deletes nothing and says so", testDeleteConditional},
	{"stored and returned users are copies", testCopies},
	{"cancelled context returns an error", testCancelled},
	{"concurrent Creates of one address: exactly one wins", testConcurrentCreate},
	{"concurrent Updates to one address: exactly one wins", testConcurrentUpdate},
	{"concurrent conditional Updates: exactly one wins", testConcurrentConditional},
	{"concurrent Updates of different fields all survive", testConcurrentFields},
	{"a flag change is never reverted by unrelated concurrent Updates", testConcurrentFlag},
	{"a conditional Delete never deletes a user an Update just made fail its condition", testConcurrentDeleteUpdate},
	{"List and Count of an empty store", testListEmpty},
	{"List orders by e-mail key and by ID, both directions", testListOrder},
	{"List pages return every user once; Next is empty exactly at the end", testListPages},
	{"List and Count filter by each flag and the search, alone and combined", testListFlags},
	{"List searches the e-mail key as a case-insensitive substring", testListSearch},
	{"List searches as text, never as a pattern or an operator", testListSearchLiteral},
	{"List refuses a cursor of another order, a garbage or a truncated one", testListBadCursor},
	{"List pages miss no survivor and repeat no user when users come and go between pages", testListChangesBetweenPages},
	{"Count reads the filters only and follows changes", testCountIgnoresPaging},
	{"listed users are copies", testListCopies},
	{"List and Count with a cancelled context return an error", testListCancelled},
}

func ptr[T any](v T) *T { return &v }

// ms is a time with millisecond precision, outside UTC, which every backend
// must return unchanged (compared with time.Time.Equal).
var ms = time.Date(2024, time.May, 17, 10, 30, 15, 123_000_000, time.FixedZone("CEST", 2*60*60))

func fullUser(email string) *user {
	return &user{
		Email:          email,
		HashedPassword: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		Active:         true,
		Superuser:      true,
		Verified:       true,
		SessionEpoch:   "epoch-1",
		RevokedTokens:  map[string]time.Time{"JTI1": ms, "JTI2": ms.Add(time.Hour)},
		Fields:         Fields{FirstName: ptr("Arthur"), LastName: ptr("Pendragon"), Age: 42},
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
	return mustFind(t, fmt.Sprintf("Get(%q)", id), got, err)
}

func mustGetByEmail(t *testing.T, s store, email string) *user {
	t.Helper()
	got, err := s.GetByEmail(t.Context(), email)
	return mustFind(t, fmt.Sprintf("GetByEmail(%q)", email), got, err)
}

// mustFind fails t unless a lookup (call) found a user.
func mustFind(t *testing.T, call string, got *user, err error) *user {
	t.Helper()
	if err != nil {
		t.Fatalf("%s error = %v, want nil", call, err)
	}
	if got == nil {
		t.Fatalf("%s = nil, nil; want a user", call)
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
	if got.SessionEpoch != want.SessionEpoch {
		d = append(d, fmt.Sprintf("SessionEpoch = %q, want %q", got.SessionEpoch, want.SessionEpoch))
	}
	if !sameRevoked(got.RevokedTokens, want.RevokedTokens) {
		d = append(d, fmt.Sprintf("RevokedTokens = %v, want %v", got.RevokedTokens, want.RevokedTokens))
	}
	if !reflect.DeepEqual(got.Fields, want.Fields) {
		d = append(d, fmt.Sprintf("Fields = %s, want %s", showFields(got.Fields), showFields(want.Fields)))
	}
	return strings.Join(d, "; ")
}

func sameRevoked(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !v.Equal(w) {
			return false
		}
	}
	return true
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
	if got.SessionEpoch != "" || len(got.RevokedTokens) != 0 {
		t.Fatalf("Get(%q) = epoch %q, revoked %v; want none", u.ID, got.SessionEpoch, got.RevokedTokens)
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

func testCreateDuplicateIDNA(t *testing.T, s store) {
	create(t, s, fullUser("alice@bücher.de"))
	for _, email := range []string{"alice@xn--bcher-kva.de", "ALICE@BÜCHER.DE", "alice@XN--BCHER-KVA.de"} {
		wantErr(t, fmt.Sprintf("Create(%q) after \"alice@bücher.de\"", email), s.Create(t.Context(), fullUser(email)), ginusers.ErrUserExists)
		if got := mustGetByEmail(t, s, email); got.Email != "alice@bücher.de" {
			t.Fatalf("GetByEmail(%q).Email = %q, want \"alice@bücher.de\"", email, got.Email)
		}
	}
	create(t, s, fullUser("bob@example.com"))
	wantErr(t, "Create(full-width domain) after \"bob@example.com\"", s.Create(t.Context(), fullUser("bob@\uff45xample.com")), ginusers.ErrUserExists)
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
	if err := s.Delete(t.Context(), u.ID, ginusers.UserCondition{}); err != nil {
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
	_, err := s.Update(t.Context(), id, ginusers.UserChange[Fields]{Email: ptr("mordred@camelot.bt")}, ginusers.UserCondition{})
	wantErr(t, fmt.Sprintf("Update(ID %q) of a missing user", id), err, ginusers.ErrUserNotFound)
	wantErr(t, fmt.Sprintf("Delete(%q) of a missing user", id), s.Delete(t.Context(), id, ginusers.UserCondition{}), ginusers.ErrUserNotFound)
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
		_, err := s.Update(t.Context(), id, ginusers.UserChange[Fields]{Active: ptr(false)}, ginusers.UserCondition{})
		wantErr(t, fmt.Sprintf("Update(ID %q)", short), err, ginusers.ErrUserNotFound)
		wantErr(t, fmt.Sprintf("Delete(%q)", short), s.Delete(t.Context(), id, ginusers.UserCondition{}), ginusers.ErrUserNotFound)
	}
	mustGetByEmail(t, s, "king.arthur@camelot.bt")
}

// allFields names every field of Fields, for a change that writes them all.
var allFields = []string{"FirstName", "LastName", "Age"}

// update calls Update and fails t on an error.
func update(t *testing.T, s store, id string, ch ginusers.UserChange[Fields], when ginusers.UserCondition) *user {
	t.Helper()
	got, err := s.Update(t.Context(), id, ch, when)
	if err != nil {
		t.Fatalf("Update(%q) error = %v, want nil", id, err)
	}
	if got == nil {
		t.Fatalf("Update(%q) = nil, nil; want the user as written", id)
	}
	return got
}

func testUpdateAllFields(t *testing.T, s store) {
	u := create(t, s, &user{
		Email:          "percival@camelot.bt",
		HashedPassword: "old-hash",
		Active:         true,
		Fields:         Fields{FirstName: ptr("Percival")},
	})
	got := update(t, s, u.ID, ginusers.UserChange[Fields]{
		Email:          ptr("Sir.Percival@Camelot.bt"),
		HashedPassword: ptr("new-hash"),
		Active:         ptr(false),
		Superuser:      ptr(true),
		Verified:       ptr(true),
		SessionEpoch:   ptr("epoch-2"),
		Fields:         Fields{FirstName: ptr("Perceval"), LastName: ptr("of Wales"), Age: 31},
		FieldNames:     allFields,
	}, ginusers.UserCondition{})
	want := &user{
		ID: u.ID, Email: "Sir.Percival@Camelot.bt", HashedPassword: "new-hash", Superuser: true, Verified: true,
		SessionEpoch: "epoch-2", Fields: Fields{FirstName: ptr("Perceval"), LastName: ptr("of Wales"), Age: 31},
	}
	wantUser(t, "Update() result", got, want)
	wantUser(t, fmt.Sprintf("Get(%q) after Update", u.ID), mustGet(t, s, u.ID), want)
	wantUser(t, `GetByEmail("sir.percival@camelot.bt") after Update`, mustGetByEmail(t, s, "sir.percival@camelot.bt"), want)
	wantNotFoundByEmail(t, s, "percival@camelot.bt")
}

func testUpdateClears(t *testing.T, s store) {
	u := create(t, s, fullUser("bedivere@camelot.bt"))
	got := update(t, s, u.ID, ginusers.UserChange[Fields]{
		Active: ptr(false), Superuser: ptr(false), Verified: ptr(false), SessionEpoch: ptr(""),
		FieldNames: allFields,
	}, ginusers.UserCondition{})
	want := fullUser("bedivere@camelot.bt")
	want.ID, want.Active, want.Superuser, want.Verified, want.SessionEpoch, want.RevokedTokens = u.ID, false, false, false, "", nil
	want.Fields = Fields{}
	wantUser(t, "Update() result after clearing", got, want)
	wantUser(t, fmt.Sprintf("Get(%q) after clearing", u.ID), mustGet(t, s, u.ID), want)
}

func testUpdateOnlyNamed(t *testing.T, s store) {
	u := create(t, s, fullUser("lamorak@camelot.bt"))
	want := mustGet(t, s, u.ID)
	// A change of one flag leaves everything else alone.
	update(t, s, u.ID, ginusers.UserChange[Fields]{Active: ptr(false)}, ginusers.UserCondition{})
	want.Active = false
	wantUser(t, "Get() after a change of is_active only", mustGet(t, s, u.ID), want)
	// Fields holds values for every field; only the named ones are written.
	update(t, s, u.ID, ginusers.UserChange[Fields]{
		Fields:     Fields{FirstName: ptr("ignored"), LastName: ptr("de Galis"), Age: 7},
		FieldNames: []string{"LastName"},
	}, ginusers.UserCondition{})
	want.Fields.LastName = ptr("de Galis")
	wantUser(t, "Get() after a change of LastName only", mustGet(t, s, u.ID), want)
	update(t, s, u.ID, ginusers.UserChange[Fields]{Fields: Fields{Age: 0}, FieldNames: []string{"Age"}}, ginusers.UserCondition{})
	want.Fields.Age = 0
	wantUser(t, "Get() after a change of Age to zero only", mustGet(t, s, u.ID), want)
	update(t, s, u.ID, ginusers.UserChange[Fields]{HashedPassword: ptr("other-hash")}, ginusers.UserCondition{})
	want.HashedPassword = "other-hash"
	wantUser(t, "Get() after a change of the hash only", mustGet(t, s, u.ID), want)
}

func testUpdateEmpty(t *testing.T, s store) {
	u := create(t, s, fullUser("dinadan@camelot.bt"))
	want := mustGet(t, s, u.ID)
	got := update(t, s, u.ID, ginusers.UserChange[Fields]{}, ginusers.UserCondition{Active: ptr(true)})
	wantUser(t, "Update() with an empty change", got, want)
	_, err := s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{}, ginusers.UserCondition{Active: ptr(false)})
	wantErr(t, "Update() with an empty change and a failing condition", err, ginusers.ErrConflict)
	wantUser(t, "Get() after empty changes", mustGet(t, s, u.ID), want)
}

func testUpdateUnknownField(t *testing.T, s store) {
	u := create(t, s, fullUser("safir@camelot.bt"))
	want := mustGet(t, s, u.ID)
	_, err := s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{
		Active: ptr(false), Fields: Fields{Age: 1}, FieldNames: []string{"Age", "NoSuchField"},
	}, ginusers.UserCondition{})
	if err == nil {
		t.Fatalf("Update() naming a field Fields does not have error = nil, want an error")
	}
	wantUser(t, "Get() after a refused Update", mustGet(t, s, u.ID), want)
}

func testUpdateRevokedTokens(t *testing.T, s store) {
	u := create(t, s, fullUser("palamedes@camelot.bt")) // revoked: JTI1, JTI2
	later := ms.Add(2 * time.Hour)
	got := update(t, s, u.ID, ginusers.UserChange[Fields]{
		RevokeTokens: map[string]time.Time{"JTI3": later},
		ForgetTokens: []string{"JTI1", "NOT-THERE"},
	}, ginusers.UserCondition{})
	want := map[string]time.Time{"JTI2": ms.Add(time.Hour), "JTI3": later}
	if !sameRevoked(got.RevokedTokens, want) {
		t.Fatalf("RevokedTokens after adding JTI3 and forgetting JTI1 = %v, want %v", got.RevokedTokens, want)
	}
	if g := mustGet(t, s, u.ID); !sameRevoked(g.RevokedTokens, want) || g.SessionEpoch != "epoch-1" {
		t.Fatalf("Get() = epoch %q, revoked %v; want %q, %v", g.SessionEpoch, g.RevokedTokens, "epoch-1", want)
	}
	got = update(t, s, u.ID, ginusers.UserChange[Fields]{SessionEpoch: ptr("epoch-2")}, ginusers.UserCondition{})
	if got.SessionEpoch != "epoch-2" || len(got.RevokedTokens) != 0 {
		t.Fatalf("after a new epoch: epoch %q, revoked %v; want %q and none", got.SessionEpoch, got.RevokedTokens, "epoch-2")
	}
	if g := mustGet(t, s, u.ID); g.SessionEpoch != "epoch-2" || len(g.RevokedTokens) != 0 {
		t.Fatalf("Get() after a new epoch: epoch %q, revoked %v; want %q and none", g.SessionEpoch, g.RevokedTokens, "epoch-2")
	}
	update(t, s, u.ID, ginusers.UserChange[Fields]{RevokeTokens: map[string]time.Time{"JTI4": later}}, ginusers.UserCondition{})
	update(t, s, u.ID, ginusers.UserChange[Fields]{ForgetTokens: []string{"JTI4"}}, ginusers.UserCondition{})
	if g := mustGet(t, s, u.ID); len(g.RevokedTokens) != 0 {
		t.Fatalf("Get() after forgetting the last revoked token: %v, want none", g.RevokedTokens)
	}
}

// conditions lists, for a user made by fullUser("...@camelot.bt"), one
// condition of each kind that fails.
var failingConditions = []struct {
	name string
	when ginusers.UserCondition
}{
	{"another password hash", ginusers.UserCondition{HashedPassword: ptr("another-hash")}},
	{"another address", ginusers.UserCondition{Email: ptr("someone.else@camelot.bt")}},
	{"the same address in another case", ginusers.UserCondition{Email: ptr("YWAIN@camelot.bt")}},
	{"inactive", ginusers.UserCondition{Active: ptr(false)}},
	{"unverified", ginusers.UserCondition{Verified: ptr(false)}},
	{"another epoch", ginusers.UserCondition{SessionEpoch: ptr("epoch-0")}},
	{"one of two conditions", ginusers.UserCondition{Active: ptr(true), SessionEpoch: ptr("")}},
}

func testUpdateConditionFails(t *testing.T, s store) {
	u := create(t, s, fullUser("ywain@camelot.bt"))
	want := mustGet(t, s, u.ID)
	for _, tc := range failingConditions {
		got, err := s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{
			Email: ptr("ywain2@camelot.bt"), HashedPassword: ptr("changed"), Active: ptr(false),
			SessionEpoch: ptr("epoch-9"), Fields: Fields{Age: 1}, FieldNames: []string{"Age"},
		}, tc.when)
		if !errors.Is(err, ginusers.ErrConflict) {
			t.Fatalf("Update() when %s = %v, %v; want an error wrapping %v", tc.name, describe(got), err, ginusers.ErrConflict)
		}
		wantUser(t, "Get() after an Update when "+tc.name, mustGet(t, s, u.ID), want)
		wantNotFoundByEmail(t, s, "ywain2@camelot.bt")
	}
	// A missing user is not found, whatever the conditions.
	_, err := s.Update(t.Context(), goneID(t, s), ginusers.UserChange[Fields]{Active: ptr(false)}, ginusers.UserCondition{Active: ptr(true)})
	wantErr(t, "Update() of a deleted user with a condition", err, ginusers.ErrUserNotFound)
}

func testUpdateConditionHolds(t *testing.T, s store) {
	u := create(t, s, fullUser("Ector@Camelot.bt"))
	hash := u.HashedPassword
	got := update(t, s, u.ID, ginusers.UserChange[Fields]{HashedPassword: ptr("new-hash"), SessionEpoch: ptr("epoch-2")},
		ginusers.UserCondition{HashedPassword: &hash, Email: ptr("Ector@Camelot.bt"), Active: ptr(true), Verified: ptr(true), SessionEpoch: ptr("epoch-1")})
	if got.HashedPassword != "new-hash" || got.SessionEpoch != "epoch-2" {
		t.Fatalf("Update() whose conditions hold = hash %q epoch %q, want %q %q", got.HashedPassword, got.SessionEpoch, "new-hash", "epoch-2")
	}
	// The same conditions now fail: the hash and the epoch changed.
	_, err := s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{HashedPassword: ptr("third-hash")}, ginusers.UserCondition{HashedPassword: &hash})
	wantErr(t, "second Update() conditional on the old hash", err, ginusers.ErrConflict)
	if g := mustGet(t, s, u.ID); g.HashedPassword != "new-hash" {
		t.Fatalf("Get().HashedPassword = %q after a refused Update, want %q", g.HashedPassword, "new-hash")
	}
}

func testUpdateDuplicate(t *testing.T, s store) {
	arthur := create(t, s, fullUser("King.Arthur@Camelot.bt"))
	kay := create(t, s, &user{Email: "kay@camelot.bt", HashedPassword: "kay-hash", Active: true, Fields: Fields{Age: 40}})
	wantArthur := mustGet(t, s, arthur.ID)
	wantKay := mustGet(t, s, kay.ID)
	for _, email := range []string{"King.Arthur@Camelot.bt", "king.arthur@camelot.bt", "KING.ARTHUR@CAMELOT.BT"} {
		_, err := s.Update(t.Context(), kay.ID, ginusers.UserChange[Fields]{
			Email: ptr(email), HashedPassword: ptr("changed"), Superuser: ptr(true),
			Fields: Fields{Age: 99, FirstName: ptr("Kay")}, FieldNames: allFields,
		}, ginusers.UserCondition{})
		wantErr(t, fmt.Sprintf("Update(kay, Email %q) to Arthur's address", email), err, ginusers.ErrUserExists)
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
	update(t, s, u.ID, ginusers.UserChange[Fields]{Email: ptr("King.Arthur@Camelot.bt")}, ginusers.UserCondition{})
	for _, email := range []string{"king.arthur@camelot.bt", "King.Arthur@Camelot.bt"} {
		got := mustGetByEmail(t, s, email)
		if got.ID != u.ID || got.Email != "King.Arthur@Camelot.bt" {
			t.Fatalf(`GetByEmail(%q) = %s, want ID %q with Email "King.Arthur@Camelot.bt"`, email, describe(got), u.ID)
		}
	}
	// Writing the address it has already works too.
	update(t, s, u.ID, ginusers.UserChange[Fields]{Email: ptr("King.Arthur@Camelot.bt")}, ginusers.UserCondition{})
}

func testUpdateFreesOldEmail(t *testing.T, s store) {
	u := create(t, s, fullUser("tristan@camelot.bt"))
	update(t, s, u.ID, ginusers.UserChange[Fields]{Email: ptr("tristram@camelot.bt")}, ginusers.UserCondition{})
	other := create(t, s, fullUser("Tristan@Camelot.bt"))
	if other.ID == u.ID {
		t.Fatalf("Create() reused ID %q of a live user", u.ID)
	}
}

func testUpdateMissing(t *testing.T, s store) {
	id := goneID(t, s)
	_, err := s.Update(t.Context(), id, ginusers.UserChange[Fields]{Email: ptr("galahad@camelot.bt"), Active: ptr(true)}, ginusers.UserCondition{})
	wantErr(t, fmt.Sprintf("Update(ID %q) of a deleted user", id), err, ginusers.ErrUserNotFound)
	wantNotFound(t, s, id)
	wantNotFoundByEmail(t, s, "galahad@camelot.bt")
}

func testDelete(t *testing.T, s store) {
	u := create(t, s, fullUser("gawain@camelot.bt"))
	keep := create(t, s, fullUser("gaheris@camelot.bt"))
	if err := s.Delete(t.Context(), u.ID, ginusers.UserCondition{}); err != nil {
		t.Fatalf("Delete(%q) error = %v, want nil", u.ID, err)
	}
	wantNotFound(t, s, u.ID)
	wantNotFoundByEmail(t, s, "gawain@camelot.bt")
	wantErr(t, fmt.Sprintf("second Delete(%q)", u.ID), s.Delete(t.Context(), u.ID, ginusers.UserCondition{}), ginusers.ErrUserNotFound)
	if got := mustGet(t, s, keep.ID); got.Email != "gaheris@camelot.bt" {
		t.Fatalf(`Get(%q).Email = %q after deleting another user, want "gaheris@camelot.bt"`, keep.ID, got.Email)
	}
}

func testDeleteConditional(t *testing.T, s store) {
	u := create(t, s, fullUser("bedivere@camelot.bt")) // an active, verified superuser
	no, yes, epoch := false, true, "epoch-1"
	for _, when := range []ginusers.UserCondition{
		{Superuser: &no}, {Active: &no}, {Verified: &no}, {Email: ptr("BEDIVERE@camelot.bt")},
		{HashedPassword: ptr("another hash")}, {SessionEpoch: ptr("epoch-2")}, {Superuser: &yes, Active: &no},
	} {
		wantErr(t, fmt.Sprintf("Delete(%+v) of a user that does not meet it", when), s.Delete(t.Context(), u.ID, when), ginusers.ErrConflict)
		if got := mustGet(t, s, u.ID); got.Email != "bedivere@camelot.bt" {
			t.Fatalf("Get(%q) after a refused Delete = %s", u.ID, describe(got))
		}
	}
	when := ginusers.UserCondition{Superuser: &yes, Active: &yes, Verified: &yes, Email: ptr("bedivere@camelot.bt"), SessionEpoch: &epoch}
	if err := s.Delete(t.Context(), u.ID, when); err != nil {
		t.Fatalf("Delete(%+v) of a user that meets it: error = %v, want nil", when, err)
	}
	wantNotFound(t, s, u.ID)
	wantErr(t, "conditional Delete of a deleted user", s.Delete(t.Context(), u.ID, when), ginusers.ErrUserNotFound)
}

// testConcurrentDeleteUpdate races a Delete conditional on a flag against
// an Update that sets it: either the Delete comes first (and the Update
// finds no user) or the Update does (and the Delete is refused), never
// both.
func testConcurrentDeleteUpdate(t *testing.T, s store) {
	no, yes := false, true
	for round := range rounds {
		v := fullUser(fmt.Sprintf("mordred-%d@camelot.bt", round))
		v.Superuser = false
		u := create(t, s, v)
		var (
			wg         sync.WaitGroup
			start      = make(chan struct{})
			delErr, up error
		)
		wg.Go(func() {
			<-start
			delErr = s.Delete(t.Context(), u.ID, ginusers.UserCondition{Superuser: &no})
		})
		wg.Go(func() {
			<-start
			_, up = s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{Superuser: &yes}, ginusers.UserCondition{})
		})
		close(start)
		waitRacers(t, &wg, fmt.Sprintf("round %d: a conditional Delete and a promotion", round))
		switch {
		case delErr == nil && errors.Is(up, ginusers.ErrUserNotFound):
			wantNotFound(t, s, u.ID)
		case errors.Is(delErr, ginusers.ErrConflict) && up == nil:
			if got := mustGet(t, s, u.ID); !got.Superuser {
				t.Fatalf("round %d: the promotion won but the stored user is %s", round, describe(got))
			}
		default:
			t.Fatalf("round %d: Delete if not a superuser = %v, concurrent promotion = %v; want one of them to fail", round, delErr, up)
		}
	}
}

func testDeleteFreesEmail(t *testing.T, s store) {
	u := create(t, s, fullUser("Gawain@Camelot.bt"))
	if err := s.Delete(t.Context(), u.ID, ginusers.UserCondition{}); err != nil {
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

	// Changing the caller's change or the returned user after Update
	// changes nothing stored.
	ch := ginusers.UserChange[Fields]{Fields: Fields{FirstName: ptr("Elaine")}, FieldNames: []string{"FirstName"}}
	res := update(t, s, want.ID, ch, ginusers.UserCondition{})
	*ch.Fields.FirstName = "changed"
	*res.Fields.FirstName = "changed"
	res.RevokedTokens["JTI1"] = time.Time{}
	res.HashedPassword = "changed"
	want.Fields.FirstName = ptr("Elaine")
	wantUser(t, "Get() after the caller changed the change and the returned *User", mustGet(t, s, want.ID), want)
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
	_, err = s.Update(ctx, u.ID, ginusers.UserChange[Fields]{Fields: Fields{Age: 1}, FieldNames: []string{"Age"}}, ginusers.UserCondition{})
	wantCancelled("Update()", err)
	wantCancelled("Delete()", s.Delete(ctx, u.ID, ginusers.UserCondition{}))

	// Nothing happened.
	wantNotFoundByEmail(t, s, "lancelot@camelot.bt")
	wantUser(t, "Get() after cancelled calls", mustGet(t, s, u.ID), want)
}

const racers = 20

// raceTimeout bounds the wait for the goroutines of a concurrency case:
// far more than a store needs on a loaded machine, far less than go test's
// timeout. A store that deadlocks then fails the case that caught it,
// instead of hanging the test binary until the timeout kills it.
const raceTimeout = 30 * time.Second

// waitRacers waits for wg, at most raceTimeout, and fails the test naming
// what it waited for when wg is not done by then.
func waitRacers(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(raceTimeout):
		t.Fatalf("%s: still running after %v; does the store deadlock, or ignore its context?", what, raceTimeout)
	}
}

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
	waitRacers(t, &wg, fmt.Sprintf("%d concurrent Create() of one address", racers))
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
			<-start
			_, err := s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{Email: &email}, ginusers.UserCondition{})
			if err == nil {
				mu.Lock()
				winner = i
				mu.Unlock()
			}
			res.add(err)
		})
	}
	close(start)
	waitRacers(t, &wg, fmt.Sprintf("%d concurrent Update() of different users to one address", racers))
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

// rounds is how many times the concurrency cases below repeat their race.
const rounds = 10

func testConcurrentConditional(t *testing.T, s store) {
	u := create(t, s, fullUser("grail.keeper@camelot.bt"))
	for round := range rounds {
		old := mustGet(t, s, u.ID).HashedPassword
		var (
			wg       sync.WaitGroup
			start    = make(chan struct{})
			mu       sync.Mutex
			ok       []string
			conflict int
			other    []error
		)
		for i := range racers {
			wg.Go(func() {
				h := fmt.Sprintf("hash-%d-%d", round, i)
				<-start
				_, err := s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{HashedPassword: &h, SessionEpoch: &h},
					ginusers.UserCondition{HashedPassword: &old})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok = append(ok, h)
				case errors.Is(err, ginusers.ErrConflict):
					conflict++
				default:
					other = append(other, err)
				}
			})
		}
		close(start)
		waitRacers(t, &wg, fmt.Sprintf("round %d: %d concurrent Updates conditional on one hash", round, racers))
		if len(ok) != 1 || conflict != racers-1 || len(other) != 0 {
			t.Fatalf("round %d: %d concurrent Updates conditional on one hash: %d succeeded, %d ErrConflict, other errors %v; want 1, %d, none",
				round, racers, len(ok), conflict, other, racers-1)
		}
		if got := mustGet(t, s, u.ID); got.HashedPassword != ok[0] || got.SessionEpoch != ok[0] {
			t.Fatalf("round %d: stored hash %q, epoch %q; want the winner's %q", round, got.HashedPassword, got.SessionEpoch, ok[0])
		}
	}
}

func testConcurrentFields(t *testing.T, s store) {
	u := create(t, s, fullUser("round.table@camelot.bt"))
	for round := range rounds {
		first, last, hash := fmt.Sprintf("first-%d", round), fmt.Sprintf("last-%d", round), fmt.Sprintf("hash-%d", round)
		changes := []ginusers.UserChange[Fields]{
			{Fields: Fields{FirstName: &first}, FieldNames: []string{"FirstName"}},
			{Fields: Fields{LastName: &last}, FieldNames: []string{"LastName"}},
			{Fields: Fields{Age: round}, FieldNames: []string{"Age"}},
			{HashedPassword: &hash},
			{Verified: ptr(round%2 == 0)},
			{Superuser: ptr(round%2 == 1)},
			{Email: ptr(fmt.Sprintf("Round.Table.%d@camelot.bt", round))},
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, len(changes))
		for i, ch := range changes {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Update(t.Context(), u.ID, ch, ginusers.UserCondition{})
			})
		}
		close(start)
		waitRacers(t, &wg, fmt.Sprintf("round %d: %d concurrent Updates of different fields", round, len(changes)))
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: concurrent Update #%d error = %v, want nil", round, i, err)
			}
		}
		got := mustGet(t, s, u.ID)
		want := fullUser(fmt.Sprintf("Round.Table.%d@camelot.bt", round))
		want.ID, want.HashedPassword, want.Verified, want.Superuser = u.ID, hash, round%2 == 0, round%2 == 1
		want.Fields = Fields{FirstName: &first, LastName: &last, Age: round}
		if d := diff(got, want); d != "" {
			t.Fatalf("round %d: after %d concurrent Updates of different fields, a change was lost: %s", round, len(changes), d)
		}
	}
}

func testConcurrentFlag(t *testing.T, s store) {
	for round := range rounds {
		u := create(t, s, fullUser(fmt.Sprintf("mordred%d@camelot.bt", round)))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				name := fmt.Sprintf("name-%d", i)
				_, _ = s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{Fields: Fields{LastName: &name}, FieldNames: []string{"LastName"}}, ginusers.UserCondition{})
			})
			if i == racers/2 {
				wg.Go(func() {
					<-start
					if _, err := s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{Active: ptr(false), Superuser: ptr(false)}, ginusers.UserCondition{}); err != nil {
						t.Errorf("round %d: Update(is_active false) error = %v", round, err)
					}
				})
			}
		}
		close(start)
		waitRacers(t, &wg, fmt.Sprintf("round %d: a deactivation racing %d Updates", round, racers))
		if got := mustGet(t, s, u.ID); got.Active || got.Superuser {
			t.Fatalf("round %d: after a deactivation and demotion racing %d unrelated Updates: active %v, superuser %v; the flags were reverted",
				round, racers, got.Active, got.Superuser)
		}
	}
}
