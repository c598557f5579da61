package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// RunOAuth runs the conformance suite of [ginusers.OAuthStore] against the
// stores newStore returns (which must implement it, beside
// [ginusers.Store]), as subtests of t. newStore is called once per subtest
// and must return a new, empty store.
//
// The suite checks: accounts round-trip through Create (every field, the
// expiry in whole seconds, a new entry ID); a lookup needs the provider and
// the account id in the same entry (a user with (google, 123) and
// (github, 999) is not the user of (github, 123)) and matches exactly;
// an account linked to a user cannot be linked again, to another user or
// the same, by AddOAuthAccount or Create, and nothing is written then;
// AddOAuthAccount honours its conditions; UpdateOAuthAccount changes one
// entry's e-mail, tokens and expiry and nothing else; Update leaves the
// accounts alone; and races: of 20 concurrent links of one account to 20
// users exactly one wins, and concurrent links of different accounts to
// one user all survive.
func RunOAuth(t *testing.T, newStore func(t *testing.T) ginusers.Store[Fields]) {
	t.Helper()
	for _, tc := range oauthSuite {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			os, ok := s.(ginusers.OAuthStore[Fields])
			if !ok {
				t.Fatalf("newStore() = %T, which does not implement ginusers.OAuthStore", s)
			}
			tc.fn(t, s, os)
		})
	}
}

type oauthStore = ginusers.OAuthStore[Fields]

var oauthSuite = []struct {
	name string
	fn   func(t *testing.T, s store, os oauthStore)
}{
	{"Create stores the accounts", testOAuthRoundTrip},
	{"GetByOAuthAccount needs the provider and the id in the same entry", testOAuthSameEntry},
	{"GetByOAuthAccount matches exactly, not as a pattern", testOAuthExact},
	{"AddOAuthAccount appends and leaves the rest alone", testOAuthAdd},
	{"an account linked to a user cannot be linked again", testOAuthAddTaken},
	{"Create refuses an account linked to another user", testOAuthCreateTaken},
	{"AddOAuthAccount honours its conditions", testOAuthAddConditions},
	{"UpdateOAuthAccount changes one entry only", testOAuthUpdateEntry},
	{"Update leaves the accounts alone", testOAuthUpdateKeeps},
	{"concurrent links of one account to different users: exactly one wins", testOAuthConcurrentTaken},
	{"concurrent links of different accounts to one user all survive", testOAuthConcurrentAdds},
	{"concurrent Creates with one account: exactly one wins", testOAuthConcurrentCreate},
}

var expiry = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

func account(name, id string) ginusers.OAuthAccount {
	return ginusers.OAuthAccount{
		OAuthName: name, AccountID: id, AccountEmail: id + "@" + name + ".example",
		AccessToken: "access-" + name + "-" + id, RefreshToken: "refresh-" + name + "-" + id,
		ExpiresAt: expiry,
	}
}

// sameAccounts reports what differs between two account lists, ignoring
// the entry IDs of want that are empty.
func sameAccounts(got, want []ginusers.OAuthAccount) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d accounts %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if w.ID == "" {
			w.ID = g.ID
		}
		if g.ID == "" {
			return fmt.Sprintf("account %d has no ID", i)
		}
		if g.ExpiresAt.Equal(w.ExpiresAt) {
			w.ExpiresAt = g.ExpiresAt
		}
		if g != w {
			return fmt.Sprintf("account %d = %+v, want %+v", i, g, w)
		}
	}
	return ""
}

func wantAccounts(t *testing.T, call string, got *user, want ...ginusers.OAuthAccount) {
	t.Helper()
	if d := sameAccounts(got.OAuthAccounts, want); d != "" {
		t.Fatalf("%s: %s", call, d)
	}
}

func testOAuthRoundTrip(t *testing.T, s store, os oauthStore) {
	u := fullUser("percival@camelot.bt")
	google := account("google", "108")
	google.ExpiresAt = expiry.Add(300 * time.Millisecond).In(time.FixedZone("CEST", 7200))
	github := account("github", "42")
	github.RefreshToken, github.ExpiresAt = "", time.Time{}
	u.OAuthAccounts = []ginusers.OAuthAccount{google, github}
	create(t, s, u)
	for i, a := range u.OAuthAccounts {
		if a.ID == "" {
			t.Fatalf("Create() left account %d without an ID", i)
		}
	}
	if u.OAuthAccounts[0].ID == u.OAuthAccounts[1].ID {
		t.Fatalf("Create() gave both accounts the ID %q", u.OAuthAccounts[0].ID)
	}
	google.ExpiresAt = expiry // whole seconds, as fastapi-users stores an integer
	got := mustGet(t, s, u.ID)
	wantAccounts(t, "Get() after Create()", got, google, github)
	if got.OAuthAccounts[0].ID != u.OAuthAccounts[0].ID {
		t.Fatalf("Get().OAuthAccounts[0].ID = %q, want %q", got.OAuthAccounts[0].ID, u.OAuthAccounts[0].ID)
	}
	if !got.OAuthAccounts[1].ExpiresAt.IsZero() {
		t.Fatalf("Get().OAuthAccounts[1].ExpiresAt = %v, want zero", got.OAuthAccounts[1].ExpiresAt)
	}
	wantUser(t, "Get() after Create() with accounts", got, func() *user { w := fullUser("percival@camelot.bt"); w.ID = u.ID; return w }())
	plain := create(t, s, fullUser("bedivere@camelot.bt"))
	if got := mustGet(t, s, plain.ID); len(got.OAuthAccounts) != 0 {
		t.Fatalf("Get() of a user created without accounts = %+v, want none", got.OAuthAccounts)
	}
}

func getByAccount(t *testing.T, os oauthStore, name, id string) (*user, error) {
	t.Helper()
	return os.GetByOAuthAccount(t.Context(), name, id)
}

func testOAuthSameEntry(t *testing.T, s store, os oauthStore) {
	u := fullUser("galahad@camelot.bt")
	u.OAuthAccounts = []ginusers.OAuthAccount{account("google", "123"), account("github", "999")}
	create(t, s, u)
	for _, k := range [][2]string{{"google", "123"}, {"github", "999"}} {
		got, err := getByAccount(t, os, k[0], k[1])
		if err != nil || got.ID != u.ID {
			t.Fatalf("GetByOAuthAccount(%q, %q) = %v, %v; want user %q", k[0], k[1], describe(got), err, u.ID)
		}
	}
	for _, k := range [][2]string{{"github", "123"}, {"google", "999"}, {"gitlab", "123"}, {"google", "12"}} {
		got, err := getByAccount(t, os, k[0], k[1])
		if !errors.Is(err, ginusers.ErrUserNotFound) {
			t.Fatalf("GetByOAuthAccount(%q, %q) = %v, %v; want ErrUserNotFound (provider and id are in different entries)", k[0], k[1], describe(got), err)
		}
	}
}

func testOAuthExact(t *testing.T, s store, os oauthStore) {
	u := fullUser("tristan@camelot.bt")
	u.OAuthAccounts = []ginusers.OAuthAccount{account("google", "a.b")}
	create(t, s, u)
	for _, k := range [][2]string{
		{"google", "aXb"}, {"google", "a.*"}, {"google", ".*"}, {"google", "A.B"}, {"google", ""},
		{"Google", "a.b"}, {"goog.e", "a.b"}, {"", ""}, {"google", `{"$ne": ""}`}, {`{"$ne": ""}`, "a.b"},
	} {
		got, err := getByAccount(t, os, k[0], k[1])
		if !errors.Is(err, ginusers.ErrUserNotFound) {
			t.Fatalf("GetByOAuthAccount(%q, %q) = %v, %v; want ErrUserNotFound", k[0], k[1], describe(got), err)
		}
	}
}

func testOAuthAdd(t *testing.T, s store, os oauthStore) {
	u := fullUser("gareth@camelot.bt")
	first := account("google", "1")
	u.OAuthAccounts = []ginusers.OAuthAccount{first}
	create(t, s, u)
	second := account("github", "2")
	got, err := os.AddOAuthAccount(t.Context(), u.ID, second, ginusers.UserCondition{})
	if err != nil {
		t.Fatalf("AddOAuthAccount() error = %v, want nil", err)
	}
	wantAccounts(t, "AddOAuthAccount()", got, first, second)
	wantAccounts(t, "Get() after AddOAuthAccount()", mustGet(t, s, u.ID), first, second)
	want := fullUser("gareth@camelot.bt")
	want.ID = u.ID
	wantUser(t, "Get() after AddOAuthAccount()", mustGet(t, s, u.ID), want)
	if got, err := getByAccount(t, os, "github", "2"); err != nil || got.ID != u.ID {
		t.Fatalf("GetByOAuthAccount() of the added account = %v, %v; want user %q", describe(got), err, u.ID)
	}
	_, err = os.AddOAuthAccount(t.Context(), goneID(t, s), account("gitlab", "3"), ginusers.UserCondition{})
	wantErr(t, "AddOAuthAccount() of a deleted user", err, ginusers.ErrUserNotFound)
	_, err = os.AddOAuthAccount(t.Context(), "not an id", account("gitlab", "3"), ginusers.UserCondition{})
	wantErr(t, "AddOAuthAccount() of an unparsable id", err, ginusers.ErrUserNotFound)
}

func testOAuthAddTaken(t *testing.T, s store, os oauthStore) {
	owner := fullUser("lamorak@camelot.bt")
	owner.OAuthAccounts = []ginusers.OAuthAccount{account("google", "7")}
	create(t, s, owner)
	other := create(t, s, fullUser("kay@camelot.bt"))
	taken := account("google", "7")
	taken.AccessToken = "the attacker's"
	_, err := os.AddOAuthAccount(t.Context(), other.ID, taken, ginusers.UserCondition{})
	wantErr(t, "AddOAuthAccount() of an account linked to another user", err, ginusers.ErrOAuthAccountTaken)
	_, err = os.AddOAuthAccount(t.Context(), owner.ID, taken, ginusers.UserCondition{})
	wantErr(t, "AddOAuthAccount() of an account linked to the same user", err, ginusers.ErrOAuthAccountTaken)
	wantAccounts(t, "Get(owner) after refused links", mustGet(t, s, owner.ID), account("google", "7"))
	wantAccounts(t, "Get(other) after a refused link", mustGet(t, s, other.ID))
	if got, err := getByAccount(t, os, "google", "7"); err != nil || got.ID != owner.ID {
		t.Fatalf("GetByOAuthAccount() = %v, %v; want the owner %q", describe(got), err, owner.ID)
	}
}

func testOAuthCreateTaken(t *testing.T, s store, os oauthStore) {
	owner := fullUser("ector@camelot.bt")
	owner.OAuthAccounts = []ginusers.OAuthAccount{account("google", "8")}
	create(t, s, owner)
	u := fullUser("ywain@camelot.bt")
	u.OAuthAccounts = []ginusers.OAuthAccount{account("google", "8")}
	wantErr(t, "Create() with an account linked to another user", s.Create(t.Context(), u), ginusers.ErrOAuthAccountTaken)
	wantNotFoundByEmail(t, s, "ywain@camelot.bt")
	if got, err := getByAccount(t, os, "google", "8"); err != nil || got.ID != owner.ID {
		t.Fatalf("GetByOAuthAccount() = %v, %v; want the owner %q", describe(got), err, owner.ID)
	}
}

func testOAuthAddConditions(t *testing.T, s store, os oauthStore) {
	u := create(t, s, fullUser("dagonet@camelot.bt"))
	_, err := os.AddOAuthAccount(t.Context(), u.ID, account("google", "9"), ginusers.UserCondition{Active: ptr(false)})
	wantErr(t, "AddOAuthAccount() whose condition fails", err, ginusers.ErrConflict)
	_, err = os.AddOAuthAccount(t.Context(), u.ID, account("google", "9"), ginusers.UserCondition{SessionEpoch: ptr("another epoch")})
	wantErr(t, "AddOAuthAccount() whose epoch condition fails", err, ginusers.ErrConflict)
	wantAccounts(t, "Get() after refused links", mustGet(t, s, u.ID))
	got, err := os.AddOAuthAccount(t.Context(), u.ID, account("google", "9"), ginusers.UserCondition{Active: ptr(true), SessionEpoch: ptr("epoch-1")})
	if err != nil {
		t.Fatalf("AddOAuthAccount() whose conditions hold: error = %v, want nil", err)
	}
	wantAccounts(t, "AddOAuthAccount() whose conditions hold", got, account("google", "9"))
}

func testOAuthUpdateEntry(t *testing.T, s store, os oauthStore) {
	u := fullUser("pelleas@camelot.bt")
	a, b := account("google", "1"), account("github", "1")
	u.OAuthAccounts = []ginusers.OAuthAccount{a, b}
	create(t, s, u)
	nb := ginusers.OAuthAccount{OAuthName: "github", AccountID: "1", AccountEmail: "new@github.example", AccessToken: "new access", ExpiresAt: expiry.Add(time.Hour)}
	got, err := os.UpdateOAuthAccount(t.Context(), u.ID, nb)
	if err != nil {
		t.Fatalf("UpdateOAuthAccount() error = %v, want nil", err)
	}
	want := nb
	want.ID = u.OAuthAccounts[1].ID
	wantAccounts(t, "UpdateOAuthAccount()", got, a, want)
	wantAccounts(t, "Get() after UpdateOAuthAccount()", mustGet(t, s, u.ID), a, want)
	if got.OAuthAccounts[1].ID != u.OAuthAccounts[1].ID {
		t.Fatalf("UpdateOAuthAccount() changed the entry's ID to %q, want %q", got.OAuthAccounts[1].ID, u.OAuthAccounts[1].ID)
	}
	_, err = os.UpdateOAuthAccount(t.Context(), u.ID, account("gitlab", "1"))
	wantErr(t, "UpdateOAuthAccount() of an entry the user lacks", err, ginusers.ErrOAuthAccountNotFound)
	_, err = os.UpdateOAuthAccount(t.Context(), goneID(t, s), a)
	wantErr(t, "UpdateOAuthAccount() of a deleted user", err, ginusers.ErrUserNotFound)
}

func testOAuthUpdateKeeps(t *testing.T, s store, os oauthStore) {
	u := fullUser("bors@camelot.bt")
	u.OAuthAccounts = []ginusers.OAuthAccount{account("google", "5")}
	create(t, s, u)
	got := update(t, s, u.ID, ginusers.UserChange[Fields]{Email: ptr("bors.de.ganis@camelot.bt"), Active: ptr(false), SessionEpoch: ptr("e2")}, ginusers.UserCondition{})
	wantAccounts(t, "Update()", got, account("google", "5"))
	wantAccounts(t, "Get() after Update()", mustGet(t, s, u.ID), account("google", "5"))
}

func testOAuthConcurrentTaken(t *testing.T, s store, os oauthStore) {
	users := make([]*user, racers)
	for i := range users {
		users[i] = create(t, s, fullUser(fmt.Sprintf("claimant%02d@camelot.bt", i)))
	}
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		won   []int
		other []error
		taken int
	)
	for i, u := range users {
		wg.Go(func() {
			<-start
			_, err := os.AddOAuthAccount(t.Context(), u.ID, account("google", "excalibur"), ginusers.UserCondition{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, i)
			case errors.Is(err, ginusers.ErrOAuthAccountTaken):
				taken++
			default:
				other = append(other, err)
			}
		})
	}
	close(start)
	waitRacers(t, &wg, fmt.Sprintf("%d concurrent AddOAuthAccount() of one account", racers))
	if len(won) != 1 || taken != racers-1 || len(other) != 0 {
		t.Fatalf("%d concurrent AddOAuthAccount() of one account: %d succeeded, %d ErrOAuthAccountTaken, other errors %v; want 1, %d, none",
			racers, len(won), taken, other, racers-1)
	}
	linked := 0
	for _, u := range users {
		linked += len(mustGet(t, s, u.ID).OAuthAccounts)
	}
	if linked != 1 {
		t.Fatalf("after %d racing links of one account, %d users have it; want 1", racers, linked)
	}
	if got, err := getByAccount(t, os, "google", "excalibur"); err != nil || got.ID != users[won[0]].ID {
		t.Fatalf("GetByOAuthAccount() = %v, %v; want the winner %q", describe(got), err, users[won[0]].ID)
	}
}

func testOAuthConcurrentAdds(t *testing.T, s store, os oauthStore) {
	u := create(t, s, fullUser("lionel@camelot.bt"))
	const n = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = os.AddOAuthAccount(t.Context(), u.ID, account("provider", fmt.Sprint(i)), ginusers.UserCondition{})
		})
	}
	wg.Go(func() {
		<-start
		_, err := s.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{Verified: ptr(false)}, ginusers.UserCondition{})
		if err != nil {
			t.Errorf("concurrent Update() error = %v, want nil", err)
		}
	})
	close(start)
	waitRacers(t, &wg, fmt.Sprintf("%d concurrent AddOAuthAccount() to one user", n))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent AddOAuthAccount() #%d error = %v, want nil", i, err)
		}
	}
	got := mustGet(t, s, u.ID)
	var ids []string
	for _, a := range got.OAuthAccounts {
		ids = append(ids, a.AccountID)
	}
	slices.Sort(ids)
	if len(ids) != n || slices.Compact(slices.Clone(ids)) == nil || len(slices.Compact(slices.Clone(ids))) != n {
		t.Fatalf("after %d concurrent AddOAuthAccount() to one user, its accounts are %v; want all %d", n, ids, n)
	}
	if got.Verified {
		t.Fatalf("a concurrent Update() of is_verified was lost")
	}
}

func testOAuthConcurrentCreate(t *testing.T, s store, os oauthStore) {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		won   int
		taken int
		other []error
	)
	for i := range racers {
		wg.Go(func() {
			u := fullUser(fmt.Sprintf("pretender%02d@camelot.bt", i))
			u.OAuthAccounts = []ginusers.OAuthAccount{account("google", "grail")}
			<-start
			err := s.Create(t.Context(), u)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, ginusers.ErrOAuthAccountTaken):
				taken++
			default:
				other = append(other, err)
			}
		})
	}
	close(start)
	waitRacers(t, &wg, fmt.Sprintf("%d concurrent Create() with one account", racers))
	if won != 1 || taken != racers-1 || len(other) != 0 {
		t.Fatalf("%d concurrent Create() with one account: %d succeeded, %d ErrOAuthAccountTaken, other errors %v; want 1, %d, none",
			racers, won, taken, other, racers-1)
	}
	if _, err := getByAccount(t, os, "google", "grail"); err != nil {
		t.Fatalf("GetByOAuthAccount() after the race error = %v, want the winner", err)
	}
}
