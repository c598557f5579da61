// Package redisstore provides a [ginusers.AccessTokenStore] that keeps the
// access tokens of a database strategy in Redis, with
// [github.com/redis/go-redis/v9]. Redis expires the tokens itself, so no
// purge job is needed, and every app instance on one Redis sees the others'
// logins and logouts at once.
//
// The code samples in the docs must be kept in line with the Example
// functions of this package.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	defer client.Close()
//	tokens := redisstore.New(client)
//
// It needs Redis 5 or later (or Valkey), for the effects replication of
// its Lua scripts, and works with any [redis.UniversalClient]: a single
// node, Sentinel, or Cluster with a hash-tagged prefix (see
// [WithKeyPrefix]).
//
// # Keys
//
// With the default prefix "ginusers:token:" (see [WithKeyPrefix]), a token
// whose digest is d, issued to the user u, is stored as:
//
//	ginusers:token:<d>       string, expiring at the token's ExpiresAt (PEXPIREAT):
//	                         {"user_id":"<u>","created_at":<ms>,"expires_at":<ms>,"epoch":"<e>"}
//	                         (epoch: the user's session epoch at login, absent when empty)
//	ginusers:token:user:<u>  sorted set of u's digests, scored by their expiry
//	                         (Unix ms), expiring at the latest of them
//
// Times are Unix milliseconds, so they come back at millisecond precision,
// in UTC. Only the digest (the hex SHA-256 of the token) is stored, never
// the token, so a copy of the database yields no usable token. Digests are
// validated as 64 lower-case hex digits before they become part of a key;
// any other digest is simply not found.
//
// The per-user index is what makes [Store.DeleteUserTokens] ("log out
// everywhere") possible without a scan of the keyspace. It is kept by Lua
// scripts, which Redis runs atomically: [Store.CreateToken] sets the
// token's key (SET NX) and adds it to the index in one step,
// [Store.DeleteToken] deletes the key and its index entry in one step, and
// [Store.DeleteUserTokens] deletes the indexed tokens and the index in one
// step, so a token created while a user logs out everywhere can never
// escape the index. CreateToken also drops from the index the entries that
// have expired, so an index holds no more than its user's live tokens.
//
// # Expiry
//
// Redis deletes a token's key when it expires: [Store.GetToken] does not
// return expired tokens, and [Store.DeleteExpiredTokens] has nothing to do
// and returns 0.
//
// # Errors
//
// Errors are prefixed "redisstore: " and wrap the cause: the ginusers
// sentinels ([ginusers.ErrTokenExists], [ginusers.ErrTokenNotFound]), the
// context's error, or go-redis's error. Compare them with [errors.Is].
// When Redis cannot be reached in time (a dial or network error, a timeout,
// a pool timeout, a server still loading), the error wraps both
// [ginusers.ErrUnavailable] and go-redis's error, and the routes answer 503
// with Retry-After. How long a command waits is the client's DialTimeout,
// ReadTimeout, WriteTimeout, PoolTimeout and MaxRetries (go-redis' defaults:
// 5 s, 3 s, 3 s, 4 s, 3 retries).
//
// # Testing
//
// Package [github.com/ginusers/kit/redisstore/redistest] starts a
// real redis-server for tests (or uses REDIS_URL), and this package's tests
// run [github.com/ginusers/kit/ginusers/storetest.RunTokens] on it.
package redisstore
