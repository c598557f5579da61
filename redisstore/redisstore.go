package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/ginusers/kit/ginusers"
)

// DefaultKeyPrefix is the key prefix of a [Store] made without
// [WithKeyPrefix].
const DefaultKeyPrefix = "ginusers:token:"

// userIndexInfix comes between the prefix and the user ID in the key of a
// user's index. A token key holds a digest (hex digits) there instead, so
// the two kinds of key never meet.
const userIndexInfix = "user:"

// Store is a [ginusers.AccessTokenStore] that keeps access tokens in Redis
// (or a server speaking its protocol, such as Valkey). See the package
// documentation for the keys it writes.
//
// A Store is safe for concurrent use, and so is the sharing of one Redis
// database by several Stores (in one process or many) with the same
// prefix: every method is a single command or a single Lua script, which
// Redis runs atomically.
type Store struct {
	client redis.UniversalClient
	prefix string
}

var _ ginusers.AccessTokenStore = (*Store)(nil)

type config struct {
	prefix string
}

// Option configures [New].
type Option func(*config)

// WithKeyPrefix sets the prefix of every key the store writes. The default
// is [DefaultKeyPrefix], "ginusers:token:". Any string is accepted, the
// empty string included (not recommended on a database that holds other
// data). Give the stores of separate applications that share a Redis
// database separate prefixes.
//
// On Redis Cluster, put a hash tag in the prefix, such as
// "{ginusers}:token:": the scripts of the store touch a token's key and its
// user's index together, so they must live in one slot.
func WithKeyPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// New returns a Store keeping access tokens in the Redis database that
// client talks to. It does no I/O and starts no goroutines. The client is
// the caller's: the Store never closes it.
func New(client redis.UniversalClient, opts ...Option) *Store {
	cfg := config{prefix: DefaultKeyPrefix}
	for _, o := range opts {
		o(&cfg)
	}
	return &Store{client: client, prefix: cfg.prefix}
}

// tokenKey returns the key of the token with the given digest.
func (s *Store) tokenKey(digest string) string { return s.prefix + digest }

// userKey returns the key of the index of userID's tokens.
func (s *Store) userKey(userID string) string { return s.prefix + userIndexInfix + userID }

// tokenValue is the JSON value stored under a token's key.
type tokenValue struct {
	UserID    string `json:"user_id"`
	CreatedAt int64  `json:"created_at"` // Unix milliseconds
	ExpiresAt int64  `json:"expires_at"` // Unix milliseconds
	Epoch     string `json:"epoch,omitempty"`
}

// validDigest reports whether d is a lower-case hex SHA-256, the only kind
// of digest the store keeps. Anything else is not a digest of a token, and
// it might not be safe as part of a key.
func validDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	for i := range len(d) {
		c := d[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// createScript stores a token and files it under its user, atomically.
// Before extending the index's expiry it drops the index's members that
// have expired by the server's clock (the clock that expires the token
// keys), so an index holds the live tokens of its user and no more.
//
//	KEYS[1]  the token's key
//	KEYS[2]  the user's index
//	ARGV[1]  the JSON value
//	ARGV[2]  expires_at, Unix milliseconds
//	ARGV[3]  the digest
//
// It returns 1, or 0 if the token's key exists already.
var createScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then
	return 0
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%d', now))
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] then
	redis.call('PEXPIREAT', KEYS[2], last[2])
end
return 1
`)

// deleteScript deletes a token and takes it out of its user's index,
// atomically.
//
//	KEYS[1]  the token's key
//	ARGV[1]  the prefix of the users' indexes
//	ARGV[2]  the digest
//
// It returns 1 if it deleted the token, 0 if there was none.
var deleteScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
	return 0
end
redis.call('DEL', KEYS[1])
local ok, tok = pcall(cjson.decode, v)
if ok and type(tok) == 'table' and type(tok.user_id) == 'string' then
	redis.call('ZREM', ARGV[1] .. tok.user_id, ARGV[2])
end
return 1
`)

// deleteUserScript deletes the tokens in a user's index, and the index,
// atomically. It deletes only tokens that belong to the user.
//
//	KEYS[1]  the user's index
//	ARGV[1]  the prefix of the tokens' keys
//	ARGV[2]  the user ID
//
// It returns how many tokens it deleted.
var deleteUserScript = redis.NewScript(`
local n = 0
for _, d in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local k = ARGV[1] .. d
	local v = redis.call('GET', k)
	if v then
		local ok, tok = pcall(cjson.decode, v)
		if ok and type(tok) == 'table' and tok.user_id == ARGV[2] then
			n = n + redis.call('DEL', k)
		end
	end
end
redis.call('DEL', KEYS[1])
return n
`)

// CreateToken stores t under its digest, expiring at t.ExpiresAt, and adds
// it to its user's index, in one script. It returns an error wrapping
// [ginusers.ErrTokenExists] if a live token has the digest already.
//
// It refuses, with an error wrapping neither sentinel, a digest that is not
// a lower-case hex SHA-256, a user ID that is not valid UTF-8, and an
// ExpiresAt not after 1970. A token that has expired already is accepted
// but expires at once: GetToken does not find it.
func (s *Store) CreateToken(ctx context.Context, t ginusers.AccessToken) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: create token: %w", err)
	}
	switch {
	case !validDigest(t.Digest):
		return errors.New("redisstore: create token: digest is not a lower-case hex SHA-256")
	case !utf8.ValidString(t.UserID):
		return errors.New("redisstore: create token: user id is not valid UTF-8")
	case t.ExpiresAt.UnixMilli() <= 0:
		return fmt.Errorf("redisstore: create token: expiry %s is not after 1970", t.ExpiresAt)
	}
	expires := t.ExpiresAt.UnixMilli()
	value, err := json.Marshal(tokenValue{UserID: t.UserID, CreatedAt: t.CreatedAt.UnixMilli(), ExpiresAt: expires, Epoch: t.Epoch})
	if err != nil {
		return fmt.Errorf("redisstore: create token: %w", err)
	}
	created, err := createScript.Run(ctx, s.client,
		[]string{s.tokenKey(t.Digest), s.userKey(t.UserID)},
		value, expires, t.Digest).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: create token: %w", unavailable(err))
	}
	if created == 0 {
		return fmt.Errorf("redisstore: create token: %w", ginusers.ErrTokenExists)
	}
	return nil
}

// GetToken returns the token with the given digest, its times in UTC at
// millisecond precision. It returns an error wrapping
// [ginusers.ErrTokenNotFound] (and [redis.Nil]) when there is none: when
// the token was never stored, was deleted or has expired (Redis deletes a
// token's key when it expires), and when digest is not a lower-case hex
// SHA-256.
func (s *Store) GetToken(ctx context.Context, digest string) (ginusers.AccessToken, error) {
	if err := ctx.Err(); err != nil {
		return ginusers.AccessToken{}, fmt.Errorf("redisstore: get token: %w", err)
	}
	if !validDigest(digest) {
		return ginusers.AccessToken{}, fmt.Errorf("redisstore: get token: %w", ginusers.ErrTokenNotFound)
	}
	raw, err := s.client.Get(ctx, s.tokenKey(digest)).Bytes()
	if errors.Is(err, redis.Nil) {
		return ginusers.AccessToken{}, fmt.Errorf("redisstore: get token: %w: %w", ginusers.ErrTokenNotFound, err)
	}
	if err != nil {
		return ginusers.AccessToken{}, fmt.Errorf("redisstore: get token: %w", unavailable(err))
	}
	var v tokenValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return ginusers.AccessToken{}, fmt.Errorf("redisstore: get token: decode value: %w", err)
	}
	return ginusers.AccessToken{
		Digest:    digest,
		UserID:    v.UserID,
		CreatedAt: time.UnixMilli(v.CreatedAt).UTC(),
		ExpiresAt: time.UnixMilli(v.ExpiresAt).UTC(),
		Epoch:     v.Epoch,
	}, nil
}

// DeleteToken deletes the token with the given digest and takes it out of
// its user's index, in one script, and reports whether this call deleted
// it: of concurrent calls for one token exactly one reports true. A
// missing, expired or malformed digest gives (false, nil).
func (s *Store) DeleteToken(ctx context.Context, digest string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redisstore: delete token: %w", err)
	}
	if !validDigest(digest) {
		return false, nil
	}
	n, err := deleteScript.Run(ctx, s.client,
		[]string{s.tokenKey(digest)},
		s.prefix+userIndexInfix, digest).Int64()
	if err != nil {
		return false, fmt.Errorf("redisstore: delete token: %w", unavailable(err))
	}
	return n == 1, nil
}

// DeleteUserTokens deletes every live token of the user, and the user's
// index, in one script, and returns how many tokens it deleted. A token
// created concurrently is either deleted and counted by this call or kept
// in the index for the next one; it never escapes the index.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("redisstore: delete user tokens: %w", err)
	}
	n, err := deleteUserScript.Run(ctx, s.client,
		[]string{s.userKey(userID)},
		s.prefix, userID).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: delete user tokens: %w", unavailable(err))
	}
	return n, nil
}

// DeleteExpiredTokens does nothing and returns 0: Redis deletes each
// token's key when it expires, and CreateToken drops expired tokens from
// the user's index. It does no I/O; it returns the context's error if ctx
// is done, like the other methods.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("redisstore: delete expired tokens: %w", err)
	}
	return 0, nil
}
