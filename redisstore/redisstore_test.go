package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/redisstore"
	"github.com/ginusers/kit/redisstore/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

func TestStore(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) ginusers.AccessTokenStore {
		return redisstore.New(redistest.Client(t), redisstore.WithKeyPrefix(redistest.Prefix(t)))
	})
}

func TestStoreDefaultPrefix(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) ginusers.AccessTokenStore {
		return redisstore.New(redistest.Client(t))
	})
}

// newStore returns a store with a unique prefix, its client and its prefix.
func newStore(t *testing.T) (*redisstore.Store, *redis.Client, string) {
	t.Helper()
	c := redistest.Client(t)
	p := redistest.Prefix(t)
	return redisstore.New(c, redisstore.WithKeyPrefix(p)), c, p
}

// digestOf returns the digest a DatabaseStrategy stores for token.
func digestOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func tokenFor(userID, token string, lifetime time.Duration) ginusers.AccessToken {
	n := now()
	return ginusers.AccessToken{Digest: digestOf(token), UserID: userID, CreatedAt: n, ExpiresAt: n.Add(lifetime)}
}

func create(t *testing.T, s *redisstore.Store, tok ginusers.AccessToken) {
	t.Helper()
	if err := s.CreateToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateToken(%q) error = %v, want nil", tok.Digest, err)
	}
}

// keysUnder returns the sorted keys that start with prefix.
func keysUnder(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(t.Context(), 0, "", 1000).Iterator()
	for iter.Next(t.Context()) {
		if strings.HasPrefix(iter.Val(), prefix) {
			keys = append(keys, iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN error = %v, want nil", err)
	}
	slices.Sort(keys)
	return keys
}

func TestKeysAndValues(t *testing.T) {
	s, c, p := newStore(t)
	ctx := t.Context()
	const token = "b3BhcXVlLWFjY2Vzcy10b2tlbi0xMjM0NTY3ODkwYWJjZGVm"
	tok := tokenFor("0123456789abcdef01234567", token, time.Hour)
	tok.CreatedAt = tok.CreatedAt.Add(-time.Second)
	create(t, s, tok)

	tokenKey, userKey := p+tok.Digest, p+"user:"+tok.UserID
	if got, want := keysUnder(t, c, p), []string{tokenKey, userKey}; !slices.Equal(got, want) {
		t.Fatalf("keys = %q, want %q", got, want)
	}

	raw, err := c.Get(ctx, tokenKey).Result()
	if err != nil {
		t.Fatalf("GET %s error = %v, want nil", tokenKey, err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("value %q is not JSON: %v", raw, err)
	}
	want := map[string]any{
		"user_id":    tok.UserID,
		"created_at": float64(tok.CreatedAt.UnixMilli()),
		"expires_at": float64(tok.ExpiresAt.UnixMilli()),
	}
	if len(v) != len(want) {
		t.Fatalf("value = %s, want the fields %v only", raw, want)
	}
	for k, w := range want {
		if v[k] != w {
			t.Fatalf("value %s: %s = %v, want %v", raw, k, v[k], w)
		}
	}

	members, err := c.ZRangeWithScores(ctx, userKey, 0, -1).Result()
	if err != nil {
		t.Fatalf("ZRANGE %s error = %v, want nil", userKey, err)
	}
	if len(members) != 1 || members[0].Member != tok.Digest || int64(members[0].Score) != tok.ExpiresAt.UnixMilli() {
		t.Fatalf("user index = %v, want the digest scored by its expiry %d", members, tok.ExpiresAt.UnixMilli())
	}

	// The raw token appears nowhere: neither in a key nor in a value.
	for _, k := range keysUnder(t, c, "") {
		if strings.Contains(k, token) {
			t.Fatalf("key %q contains the raw token", k)
		}
	}
	if strings.Contains(raw, token) {
		t.Fatalf("value %q contains the raw token", raw)
	}
	for _, m := range members {
		if strings.Contains(m.Member.(string), token) {
			t.Fatalf("user index member %q contains the raw token", m.Member)
		}
	}
}

func TestKeysExpire(t *testing.T) {
	s, c, p := newStore(t)
	ctx := t.Context()
	const user = "u1"
	long := tokenFor(user, "long", 2*time.Hour)
	short := tokenFor(user, "short", time.Hour)
	for _, tok := range []ginusers.AccessToken{long, short} {
		create(t, s, tok)
		at, err := c.PExpireTime(ctx, p+tok.Digest).Result()
		if err != nil {
			t.Fatalf("PEXPIRETIME error = %v, want nil", err)
		}
		if got, want := at.Milliseconds(), tok.ExpiresAt.UnixMilli(); got != want {
			t.Fatalf("token key expires at %d (Unix ms), want its ExpiresAt %d", got, want)
		}
	}
	// The index lives as long as its longest-lived token.
	at, err := c.PExpireTime(ctx, p+"user:"+user).Result()
	if err != nil {
		t.Fatalf("PEXPIRETIME error = %v, want nil", err)
	}
	if got, want := at.Milliseconds(), long.ExpiresAt.UnixMilli(); got != want {
		t.Fatalf("user index expires at %d (Unix ms), want the latest ExpiresAt %d", got, want)
	}
}

func TestExpiredTokenIsGone(t *testing.T) {
	s, c, p := newStore(t)
	ctx := t.Context()
	live := tokenFor("u1", "live", time.Hour)
	create(t, s, live)
	expired := tokenFor("u1", "expired", -time.Second)
	create(t, s, expired) // accepted, and expired at once

	if _, err := s.GetToken(ctx, expired.Digest); !errors.Is(err, ginusers.ErrTokenNotFound) {
		t.Fatalf("GetToken() of an expired token error = %v, want one wrapping %v", err, ginusers.ErrTokenNotFound)
	}
	// CreateToken keeps expired tokens out of the index.
	members, err := c.ZRange(ctx, p+"user:u1", 0, -1).Result()
	if err != nil {
		t.Fatalf("ZRANGE error = %v, want nil", err)
	}
	if !slices.Equal(members, []string{live.Digest}) {
		t.Fatalf("user index = %q, want only the live token %q", members, live.Digest)
	}
	if n, err := s.DeleteExpiredTokens(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("DeleteExpiredTokens() = %d, %v; want 0, nil", n, err)
	}
}

func TestUserIndex(t *testing.T) {
	s, c, p := newStore(t)
	ctx := t.Context()
	var digests []string
	for _, token := range []string{"a", "b", "c"} {
		tok := tokenFor("u1", token, time.Hour)
		create(t, s, tok)
		digests = append(digests, tok.Digest)
	}
	create(t, s, tokenFor("u2", "d", time.Hour))
	index := func(user string) []string {
		t.Helper()
		m, err := c.ZRange(ctx, p+"user:"+user, 0, -1).Result()
		if err != nil {
			t.Fatalf("ZRANGE error = %v, want nil", err)
		}
		slices.Sort(m)
		return m
	}
	want := slices.Sorted(slices.Values(digests))
	if got := index("u1"); !slices.Equal(got, want) {
		t.Fatalf("index of u1 = %q, want %q", got, want)
	}

	// DeleteToken takes the token out of the index.
	if ok, err := s.DeleteToken(ctx, digests[0]); err != nil || !ok {
		t.Fatalf("DeleteToken() = %v, %v; want true, nil", ok, err)
	}
	want = slices.Sorted(slices.Values(digests[1:]))
	if got := index("u1"); !slices.Equal(got, want) {
		t.Fatalf("index of u1 after DeleteToken = %q, want %q", got, want)
	}

	// DeleteUserTokens deletes the index with the tokens.
	if n, err := s.DeleteUserTokens(ctx, "u1"); err != nil || n != 2 {
		t.Fatalf("DeleteUserTokens(u1) = %d, %v; want 2, nil", n, err)
	}
	if got := keysUnder(t, c, p); !slices.Equal(got, []string{p + digestOf("d"), p + "user:u2"}) {
		t.Fatalf("keys after DeleteUserTokens(u1) = %q, want only u2's token and index", got)
	}
}

func TestDeleteUserTokensSkipsOthersTokens(t *testing.T) {
	s, c, p := newStore(t)
	ctx := t.Context()
	theirs := tokenFor("u2", "theirs", time.Hour)
	create(t, s, theirs)
	create(t, s, tokenFor("u1", "mine", time.Hour))
	// u1's index names u2's token (a stale entry whose digest was reused).
	if err := c.ZAdd(ctx, p+"user:u1", redis.Z{Score: float64(theirs.ExpiresAt.UnixMilli()), Member: theirs.Digest}).Err(); err != nil {
		t.Fatalf("ZADD error = %v, want nil", err)
	}
	if n, err := s.DeleteUserTokens(ctx, "u1"); err != nil || n != 1 {
		t.Fatalf("DeleteUserTokens(u1) = %d, %v; want 1, nil", n, err)
	}
	if _, err := s.GetToken(ctx, theirs.Digest); err != nil {
		t.Fatalf("GetToken() of u2's token after DeleteUserTokens(u1) error = %v, want nil", err)
	}
}

func TestCustomPrefix(t *testing.T) {
	c := redistest.Client(t)
	ctx := t.Context()
	a := redisstore.New(c, redisstore.WithKeyPrefix("{app-a}:tok:"))
	b := redisstore.New(c, redisstore.WithKeyPrefix("{app-b}:tok:"))
	def := redisstore.New(c)
	tok := tokenFor("u1", "shared", time.Hour)
	create(t, a, tok)

	if got, want := keysUnder(t, c, ""), []string{"{app-a}:tok:" + tok.Digest, "{app-a}:tok:user:u1"}; !slices.Equal(got, want) {
		t.Fatalf("keys = %q, want %q", got, want)
	}
	for name, other := range map[string]*redisstore.Store{"another prefix": b, "the default prefix": def} {
		if _, err := other.GetToken(ctx, tok.Digest); !errors.Is(err, ginusers.ErrTokenNotFound) {
			t.Fatalf("GetToken() through %s error = %v, want one wrapping %v", name, err, ginusers.ErrTokenNotFound)
		}
		if ok, err := other.DeleteToken(ctx, tok.Digest); err != nil || ok {
			t.Fatalf("DeleteToken() through %s = %v, %v; want false, nil", name, ok, err)
		}
		if n, err := other.DeleteUserTokens(ctx, "u1"); err != nil || n != 0 {
			t.Fatalf("DeleteUserTokens() through %s = %d, %v; want 0, nil", name, n, err)
		}
		// The same digest may be stored under each prefix.
		if err := other.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken() through %s error = %v, want nil", name, err)
		}
	}
	if got := keysUnder(t, c, redisstore.DefaultKeyPrefix); !slices.Equal(got, []string{
		"ginusers:token:" + tok.Digest, "ginusers:token:user:u1",
	}) {
		t.Fatalf("keys of the default prefix = %q, want ginusers:token:<digest> and ginusers:token:user:u1", got)
	}
	if _, err := a.GetToken(ctx, tok.Digest); err != nil {
		t.Fatalf("GetToken() through the first prefix error = %v, want nil", err)
	}
}

func TestCreateTokenRefusesBadInput(t *testing.T) {
	s, c, p := newStore(t)
	ctx := t.Context()
	good := tokenFor("u1", "t", time.Hour)
	tests := []struct {
		name string
		edit func(*ginusers.AccessToken)
	}{
		{"an upper-case digest", func(tok *ginusers.AccessToken) { tok.Digest = strings.ToUpper(tok.Digest) }},
		{"a short digest", func(tok *ginusers.AccessToken) { tok.Digest = tok.Digest[:40] }},
		{"a digest that names a user index", func(tok *ginusers.AccessToken) { tok.Digest = "user:u1" }},
		{"a glob for a digest", func(tok *ginusers.AccessToken) { tok.Digest = "*" }},
		{"a user id that is not UTF-8", func(tok *ginusers.AccessToken) { tok.UserID = "u\xff" }},
		{"no expiry", func(tok *ginusers.AccessToken) { tok.ExpiresAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := good
			tt.edit(&tok)
			err := s.CreateToken(ctx, tok)
			if err == nil || errors.Is(err, ginusers.ErrTokenExists) || !strings.HasPrefix(err.Error(), "redisstore: ") {
				t.Fatalf("CreateToken() error = %v, want a redisstore error that is not %v", err, ginusers.ErrTokenExists)
			}
			if keys := keysUnder(t, c, p); len(keys) != 0 {
				t.Fatalf("keys after a refused CreateToken = %q, want none", keys)
			}
		})
	}
}

func TestErrorsArePrefixedAndWrapped(t *testing.T) {
	c := redistest.Client(t)
	s := redisstore.New(c)
	if err := c.Close(); err != nil {
		t.Fatalf("Close() error = %v, want nil", err)
	}
	ctx := t.Context()
	tok := tokenFor("u1", "t", time.Hour)
	_, getErr := s.GetToken(ctx, tok.Digest)
	_, delErr := s.DeleteToken(ctx, tok.Digest)
	_, userErr := s.DeleteUserTokens(ctx, "u1")
	for call, err := range map[string]error{
		"CreateToken()":      s.CreateToken(ctx, tok),
		"GetToken()":         getErr,
		"DeleteToken()":      delErr,
		"DeleteUserTokens()": userErr,
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "redisstore: ") || !errors.Is(err, redis.ErrClosed) {
			t.Fatalf("%s on a closed client error = %v, want one prefixed %q wrapping %v", call, err, "redisstore: ", redis.ErrClosed)
		}
		if errors.Is(err, ginusers.ErrTokenNotFound) || errors.Is(err, ginusers.ErrTokenExists) {
			t.Fatalf("%s on a closed client error = %v, want no ginusers sentinel", call, err)
		}
	}
}

func TestNotFoundWrapsRedisNil(t *testing.T) {
	s, _, _ := newStore(t)
	_, err := s.GetToken(t.Context(), digestOf("missing"))
	if !errors.Is(err, ginusers.ErrTokenNotFound) || !errors.Is(err, redis.Nil) {
		t.Fatalf("GetToken() of a missing token error = %v, want one wrapping %v and %v", err, ginusers.ErrTokenNotFound, redis.Nil)
	}
}

func TestContextDeadline(t *testing.T) {
	s, _, _ := newStore(t)
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if err := s.CreateToken(ctx, tokenFor("u1", "t", time.Hour)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CreateToken() past the deadline error = %v, want one wrapping %v", err, context.DeadlineExceeded)
	}
}
