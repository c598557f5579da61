package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// RunTokens runs the conformance suite for [ginusers.AccessTokenStore]
// against the stores newStore returns, as subtests of t. newStore is called
// once per subtest and must return a new, empty store; it may register
// cleanups on the *testing.T it is given.
//
// The suite checks the contract documented on [ginusers.AccessTokenStore]:
// a round trip of every field (times at millisecond precision, returned in
// UTC), [ginusers.ErrTokenExists] for a digest stored already and
// [ginusers.ErrTokenNotFound] for an unknown one, digests and user ids
// matched exactly (never as a pattern, a glob or a query operator),
// DeleteToken's (true, nil) then (false, nil), DeleteUserTokens' count and
// reach, DeleteExpiredTokens, a cancelled context, and races: of 10
// concurrent DeleteTokens of one token exactly one reports true, of 10
// concurrent CreateTokens of one digest exactly one wins, and tokens created
// while DeleteUserTokens runs are each deleted exactly once.
//
// The tokens have real expiry times around [time.Now], since some stores
// (Redis) let the server expire them. DeleteExpiredTokens is checked so that
// a store purging its own documents and a store relying on the server's
// expiry both pass: a token that has expired may be returned by GetToken
// (unchanged) until it is deleted, or not at all; live tokens always
// survive; and when DeleteExpiredTokens reports n > 0 deletions, every
// expired token is gone. Subtests do not run in parallel with each other.
func RunTokens(t *testing.T, newStore func(t *testing.T) ginusers.AccessTokenStore) {
	t.Helper()
	for _, tc := range tokenSuite {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatalf("newStore() = nil, want a store")
			}
			tc.fn(t, s)
		})
	}
}

type tokenStore = ginusers.AccessTokenStore

var tokenSuite = []struct {
	name string
	fn   func(t *testing.T, s tokenStore)
}{
	{"CreateToken then GetToken returns every field", testTokenRoundTrip},
	{"CreateToken refuses a stored digest", testTokenDuplicate},
	{"unknown digest is not found", testTokenMissing},
	{"digests and user ids match exactly, not as patterns", testTokenExact},
	{"DeleteToken reports true then false", testTokenDelete},
	{"DeleteUserTokens deletes one user's tokens only", testTokenDeleteUser},
	{"DeleteExpiredTokens keeps live tokens", testTokenDeleteExpired},
	{"cancelled context returns an error", testTokenCancelled},
	{"concurrent DeleteTokens of one token: exactly one true", testTokenConcurrentDelete},
	{"concurrent CreateTokens of one digest: exactly one wins", testTokenConcurrentCreate},
	{"tokens created during DeleteUserTokens are each deleted exactly once", testTokenCreateDuringDeleteUser},
}

// tokenRacers is how many goroutines the race subtests start.
const tokenRacers = 10

// newTokenDigest returns the digest of a new random token, as a
// DatabaseStrategy computes it: the lower-case hex SHA-256.
func newTokenDigest() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])
}

// tokenNow returns the current time at millisecond precision, in UTC.
func tokenNow() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// liveToken returns a token of userID with a new digest, issued a minute
// ago under a session epoch and expiring in an hour.
func liveToken(userID string) ginusers.AccessToken {
	now := tokenNow()
	return ginusers.AccessToken{
		Digest:    newTokenDigest(),
		UserID:    userID,
		CreatedAt: now.Add(-time.Minute),
		ExpiresAt: now.Add(time.Hour),
		Epoch:     "epoch-" + newTokenDigest()[:8],
	}
}

func createToken(t *testing.T, s tokenStore, tok ginusers.AccessToken) ginusers.AccessToken {
	t.Helper()
	if err := s.CreateToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateToken(%s) error = %v, want nil", showToken(tok), err)
	}
	return tok
}

func showToken(tok ginusers.AccessToken) string {
	return fmt.Sprintf("{Digest: %q, UserID: %q, CreatedAt: %s, ExpiresAt: %s}",
		tok.Digest, tok.UserID, tok.CreatedAt.Format(time.RFC3339Nano), tok.ExpiresAt.Format(time.RFC3339Nano))
}

// tokenDiff returns "" if got equals want, field by field, with got's
// times in UTC; otherwise what differs.
func tokenDiff(got, want ginusers.AccessToken) string {
	var d []string
	if got.Digest != want.Digest {
		d = append(d, fmt.Sprintf("Digest = %q, want %q", got.Digest, want.Digest))
	}
	if got.UserID != want.UserID {
		d = append(d, fmt.Sprintf("UserID = %q, want %q", got.UserID, want.UserID))
	}
	if got.Epoch != want.Epoch {
		d = append(d, fmt.Sprintf("Epoch = %q, want %q", got.Epoch, want.Epoch))
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{{"CreatedAt", got.CreatedAt, want.CreatedAt}, {"ExpiresAt", got.ExpiresAt, want.ExpiresAt}} {
		if !f.got.Equal(f.want) {
			d = append(d, fmt.Sprintf("%s = %s, want %s", f.name, f.got.Format(time.RFC3339Nano), f.want.Format(time.RFC3339Nano)))
		} else if f.got.Location() != time.UTC {
			d = append(d, fmt.Sprintf("%s is in %s, want UTC", f.name, f.got.Location()))
		}
	}
	return strings.Join(d, "; ")
}

func wantToken(t *testing.T, s tokenStore, want ginusers.AccessToken) {
	t.Helper()
	got, err := s.GetToken(t.Context(), want.Digest)
	if err != nil {
		t.Fatalf("GetToken(%q) error = %v, want nil", want.Digest, err)
	}
	if d := tokenDiff(got, want); d != "" {
		t.Fatalf("GetToken(%q) returned a different token: %s", want.Digest, d)
	}
}

func wantNoToken(t *testing.T, s tokenStore, digest string) {
	t.Helper()
	got, err := s.GetToken(t.Context(), digest)
	if !errors.Is(err, ginusers.ErrTokenNotFound) {
		t.Fatalf("GetToken(%q) = %s, %v; want an error wrapping %v", digest, showToken(got), err, ginusers.ErrTokenNotFound)
	}
}

func deleteToken(t *testing.T, s tokenStore, digest string, want bool) {
	t.Helper()
	got, err := s.DeleteToken(t.Context(), digest)
	if err != nil || got != want {
		t.Fatalf("DeleteToken(%q) = %v, %v; want %v, nil", digest, got, err, want)
	}
}

func deleteUserTokens(t *testing.T, s tokenStore, userID string, want int64) {
	t.Helper()
	got, err := s.DeleteUserTokens(t.Context(), userID)
	if err != nil || got != want {
		t.Fatalf("DeleteUserTokens(%q) = %d, %v; want %d, nil", userID, got, err, want)
	}
}

func testTokenRoundTrip(t *testing.T, s tokenStore) {
	now := tokenNow()
	toks := []ginusers.AccessToken{
		{Digest: newTokenDigest(), UserID: "0123456789abcdef01234567", CreatedAt: now.Add(-time.Second), ExpiresAt: now.Add(time.Hour)},
		// Another token of the same user, expiring in a year.
		{Digest: newTokenDigest(), UserID: "0123456789abcdef01234567", CreatedAt: now, ExpiresAt: now.AddDate(1, 0, 0)},
		// A user id of another shape (a UUID).
		{Digest: newTokenDigest(), UserID: "00000000-0000-4000-8000-000000000000", CreatedAt: now.Add(-time.Millisecond), ExpiresAt: now.Add(15 * time.Minute)},
	}
	for _, tok := range toks {
		createToken(t, s, tok)
	}
	for _, tok := range toks {
		wantToken(t, s, tok)
	}
}

func testTokenDuplicate(t *testing.T, s tokenStore) {
	first := createToken(t, s, liveToken("user-1"))
	dup := liveToken("user-2")
	dup.Digest = first.Digest
	dup.ExpiresAt = dup.ExpiresAt.Add(time.Hour)
	err := s.CreateToken(t.Context(), dup)
	if !errors.Is(err, ginusers.ErrTokenExists) {
		t.Fatalf("CreateToken() of a stored digest error = %v, want one wrapping %v", err, ginusers.ErrTokenExists)
	}
	wantToken(t, s, first)
	// The refused token was not filed under its user either.
	deleteUserTokens(t, s, "user-2", 0)
	wantToken(t, s, first)
}

func testTokenMissing(t *testing.T, s tokenStore) {
	createToken(t, s, liveToken("user-1"))
	digest := newTokenDigest()
	wantNoToken(t, s, digest)
	deleteToken(t, s, digest, false)
	deleteUserTokens(t, s, "nobody", 0)
}

func testTokenExact(t *testing.T, s tokenStore) {
	const userID = "user-1"
	tok := createToken(t, s, liveToken(userID))
	d := tok.Digest
	digests := []string{
		strings.ToUpper(d), d[:63], d + "0", " " + d, d + "\n", d[:32], "",
		".*", "^" + d[:8], d[:8] + ".*", d[:8] + "*", "*", strings.Repeat("?", 64), "[0-9a-f]*",
		`{"$ne": ""}`, `{"$gt": ""}`, `{"$regex": ".*"}`, "$where", "$ne",
		"user:" + userID, "user:*", userID,
	}
	for _, probe := range digests {
		wantNoToken(t, s, probe)
		deleteToken(t, s, probe, false)
	}
	for _, probe := range []string{"", ".*", "^user", "user-", "user-*", "user-?", "USER-1", "user-1 ", `{"$ne": ""}`, `{"$gt": ""}`, `{"$regex": ".*"}`, d} {
		deleteUserTokens(t, s, probe, 0)
	}
	wantToken(t, s, tok)
}

func testTokenDelete(t *testing.T, s tokenStore) {
	a := createToken(t, s, liveToken("user-1"))
	b := createToken(t, s, liveToken("user-1"))
	deleteToken(t, s, a.Digest, true)
	wantNoToken(t, s, a.Digest)
	deleteToken(t, s, a.Digest, false)
	wantToken(t, s, b)
	// The deleted token no longer counts among its user's tokens.
	deleteUserTokens(t, s, "user-1", 1)
	wantNoToken(t, s, b.Digest)
	// A deleted digest may be stored again.
	createToken(t, s, a)
	wantToken(t, s, a)
}

func testTokenDeleteUser(t *testing.T, s tokenStore) {
	var mine, theirs []ginusers.AccessToken
	for range 3 {
		mine = append(mine, createToken(t, s, liveToken("user-1")))
	}
	for range 2 {
		theirs = append(theirs, createToken(t, s, liveToken("user-2")))
	}
	deleteUserTokens(t, s, "user-1", 3)
	for _, tok := range mine {
		wantNoToken(t, s, tok.Digest)
		deleteToken(t, s, tok.Digest, false)
	}
	for _, tok := range theirs {
		wantToken(t, s, tok)
	}
	deleteUserTokens(t, s, "user-1", 0)

	// The user may log in again, and the new token counts as theirs.
	again := createToken(t, s, liveToken("user-1"))
	wantToken(t, s, again)
	deleteUserTokens(t, s, "user-1", 1)
	deleteUserTokens(t, s, "user-2", 2)
	for _, tok := range theirs {
		wantNoToken(t, s, tok.Digest)
	}
}

func testTokenDeleteExpired(t *testing.T, s tokenStore) {
	now := tokenNow()
	live := []ginusers.AccessToken{
		createToken(t, s, liveToken("user-1")),
		createToken(t, s, liveToken("user-2")),
	}
	expired := []ginusers.AccessToken{
		{Digest: newTokenDigest(), UserID: "user-1", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
		{Digest: newTokenDigest(), UserID: "user-2", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Second)},
	}
	for _, tok := range expired {
		createToken(t, s, tok)
	}
	// An expired token is returned unchanged until it is deleted, or not at
	// all (a store whose server expires it).
	var present int64
	for _, tok := range expired {
		got, err := s.GetToken(t.Context(), tok.Digest)
		switch {
		case errors.Is(err, ginusers.ErrTokenNotFound):
		case err != nil:
			t.Fatalf("GetToken(%q) of an expired token error = %v, want nil or one wrapping %v", tok.Digest, err, ginusers.ErrTokenNotFound)
		default:
			if d := tokenDiff(got, tok); d != "" {
				t.Fatalf("GetToken(%q) of an expired token returned a different token: %s", tok.Digest, d)
			}
			present++
		}
	}

	n, err := s.DeleteExpiredTokens(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("DeleteExpiredTokens() error = %v, want nil", err)
	}
	if n < 0 || n > present {
		t.Fatalf("DeleteExpiredTokens() = %d, want 0 to %d (the expired tokens GetToken still returned)", n, present)
	}
	for _, tok := range live {
		wantToken(t, s, tok)
	}
	if n > 0 {
		for _, tok := range expired {
			wantNoToken(t, s, tok.Digest)
		}
	}
	if n, err := s.DeleteExpiredTokens(t.Context(), time.Now()); err != nil || n != 0 {
		t.Fatalf("second DeleteExpiredTokens() = %d, %v; want 0, nil", n, err)
	}
	for _, tok := range live {
		wantToken(t, s, tok)
	}
}

func testTokenCancelled(t *testing.T, s tokenStore) {
	tok := createToken(t, s, liveToken("user-1"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wantCancelled := func(call string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a cancelled context error = %v, want one wrapping %v", call, err, context.Canceled)
		}
	}
	fresh := liveToken("user-1")
	wantCancelled("CreateToken()", s.CreateToken(ctx, fresh))
	_, err := s.GetToken(ctx, tok.Digest)
	wantCancelled("GetToken()", err)
	_, err = s.DeleteToken(ctx, tok.Digest)
	wantCancelled("DeleteToken()", err)
	_, err = s.DeleteUserTokens(ctx, "user-1")
	wantCancelled("DeleteUserTokens()", err)
	_, err = s.DeleteExpiredTokens(ctx, time.Now().Add(24*time.Hour))
	wantCancelled("DeleteExpiredTokens()", err)

	// Nothing happened.
	wantNoToken(t, s, fresh.Digest)
	wantToken(t, s, tok)
}

func testTokenConcurrentDelete(t *testing.T, s tokenStore) {
	tok := createToken(t, s, liveToken("user-1"))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wins  int
		fails []error
	)
	start := make(chan struct{})
	for range tokenRacers {
		wg.Go(func() {
			<-start
			ok, err := s.DeleteToken(t.Context(), tok.Digest)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, err)
			}
			if ok {
				wins++
			}
		})
	}
	close(start)
	waitRacers(t, &wg, fmt.Sprintf("%d concurrent DeleteToken() of one token", tokenRacers))
	if len(fails) > 0 {
		t.Fatalf("concurrent DeleteToken() errors = %v, want none", fails)
	}
	if wins != 1 {
		t.Fatalf("%d concurrent DeleteToken() of one token: %d reported true, want exactly 1", tokenRacers, wins)
	}
	wantNoToken(t, s, tok.Digest)
}

func testTokenConcurrentCreate(t *testing.T, s tokenStore) {
	digest := newTokenDigest()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		winner = -1
		wins   int
		exists int
		fails  []error
	)
	toks := make([]ginusers.AccessToken, tokenRacers)
	for i := range toks {
		toks[i] = liveToken(fmt.Sprintf("user-%d", i))
		toks[i].Digest = digest
	}
	start := make(chan struct{})
	for i := range tokenRacers {
		wg.Go(func() {
			<-start
			err := s.CreateToken(t.Context(), toks[i])
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
				winner = i
			case errors.Is(err, ginusers.ErrTokenExists):
				exists++
			default:
				fails = append(fails, err)
			}
		})
	}
	close(start)
	waitRacers(t, &wg, fmt.Sprintf("%d concurrent CreateToken() of one digest", tokenRacers))
	if len(fails) > 0 {
		t.Fatalf("concurrent CreateToken() errors = %v, want nil or %v only", fails, ginusers.ErrTokenExists)
	}
	if wins != 1 || exists != tokenRacers-1 {
		t.Fatalf("%d concurrent CreateToken() of one digest: %d succeeded and %d got %v, want 1 and %d",
			tokenRacers, wins, exists, ginusers.ErrTokenExists, tokenRacers-1)
	}
	wantToken(t, s, toks[winner])
	// Only the winner's user owns a token.
	var total int64
	for i := range tokenRacers {
		n, err := s.DeleteUserTokens(t.Context(), toks[i].UserID)
		if err != nil {
			t.Fatalf("DeleteUserTokens(%q) error = %v, want nil", toks[i].UserID, err)
		}
		if i != winner && n != 0 {
			t.Fatalf("DeleteUserTokens(%q) of a user whose CreateToken lost = %d, want 0", toks[i].UserID, n)
		}
		total += n
	}
	if total != 1 {
		t.Fatalf("DeleteUserTokens() of every racing user deleted %d tokens in all, want 1", total)
	}
}

// testTokenCreateDuringDeleteUser logs a user in from several goroutines
// while others log them out everywhere. Each token must be deleted exactly
// once: none escapes the user's index (it would outlive "log out
// everywhere") and none is counted twice.
func testTokenCreateDuringDeleteUser(t *testing.T, s tokenStore) {
	const userID = "user-1"
	const perCreator = 5
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []ginusers.AccessToken
		deleted int64
		fails   []error
	)
	start := make(chan struct{})
	for range tokenRacers {
		wg.Go(func() {
			<-start
			for range perCreator {
				tok := liveToken(userID)
				err := s.CreateToken(t.Context(), tok)
				mu.Lock()
				if err != nil {
					fails = append(fails, err)
				} else {
					created = append(created, tok)
				}
				mu.Unlock()
			}
		})
	}
	for range tokenRacers / 2 {
		wg.Go(func() {
			<-start
			for range perCreator {
				n, err := s.DeleteUserTokens(t.Context(), userID)
				mu.Lock()
				if err != nil {
					fails = append(fails, err)
				}
				deleted += n
				mu.Unlock()
			}
		})
	}
	close(start)
	waitRacers(t, &wg, "concurrent CreateToken() and DeleteUserTokens() of one user")
	if len(fails) > 0 {
		t.Fatalf("concurrent CreateToken() and DeleteUserTokens() errors = %v, want none", fails)
	}
	n, err := s.DeleteUserTokens(t.Context(), userID)
	if err != nil {
		t.Fatalf("DeleteUserTokens(%q) after the race error = %v, want nil", userID, err)
	}
	deleted += n
	if want := int64(len(created)); deleted != want {
		t.Fatalf("DeleteUserTokens(%q) deleted %d tokens in all, want the %d created", userID, deleted, want)
	}
	for _, tok := range created {
		wantNoToken(t, s, tok.Digest)
	}
}
