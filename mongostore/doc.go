// Package mongostore provides a [ginusers.Store] that keeps users in a
// MongoDB collection, with the document layout of fastapi-users' Beanie
// backend, so a Go service can take over (or share) the users of a Python
// one. It runs on MongoDB and on FerretDB, including the embedded FerretDB
// of package [github.com/ginusers/kit/mongostore/embedded].
//
// The code samples in the docs must be kept in line with the Example
// functions of this package.
//
//	client, err := mongo.Connect(options.Client().ApplyURI(uri))
//	...
//	store := mongostore.New[Profile](client.Database("app").Collection("users"))
//	if err := store.EnsureIndexes(ctx); err != nil { ... }
//	m, err := ginusers.New(store, ginusers.WithSecret(secret))
//
// # Documents
//
// Each user is one document:
//
//	{
//	  "_id":             ObjectID,  // User.ID is its 24-digit hex form
//	  "email":           string,    // as given, case kept
//	  "email_key":       string,    // ginusers.EmailKey(email): lookups and uniqueness
//	  "email_key_v":     int,       // the definition of the key (2)
//	  "hashed_password": string,
//	  "is_active":       bool,
//	  "is_superuser":    bool,
//	  "is_verified":     bool,
//	  "session_epoch":   string,    // absent when empty
//	  "revoked_tokens":  {jti: date, ...}, // absent when empty
//	  "oauth_accounts":  [{"id": ObjectID, "oauth_name": string,
//	                       "access_token": string, "account_id": string,
//	                       "account_email": string, "expires_at": int or null,
//	                       "refresh_token": string or null}, ...], // absent when none
//	  ...                           // the fields of F, inline, by their bson tags
//	}
//
// That is fastapi-users' layout plus email_key and the session fields, so
// the documents of a fastapi-users service read as users here (their OAuth
// accounts included: the Store is a [ginusers.OAuthStore]), and an update
// here leaves the accounts, and fields it does not know, alone.
// Dates are stored with millisecond precision. Give the fields of F bson
// tags; a field of F whose key is one of the above is shadowed by it.
//
// IDs are ObjectIDs. [Store.Get], [Store.Update] and [Store.Delete] treat
// any id that is not the canonical (lower-case) hex form of an ObjectID as
// not found, so ids from URLs and tokens need no checking.
//
// # Indexes
//
// [Store.EnsureIndexes] creates:
//
//   - "email_key_unique": unique and sparse, on email_key. It makes e-mail
//     addresses unique, compared case-insensitively, also when requests
//     race. Before creating it, EnsureIndexes sets email_key on documents
//     that lack it, such as users created by fastapi-users.
//   - "case_insensitive_email_index": fastapi-users' own unique index on
//     email with the collation {locale: "en", strength: 2}, so a
//     fastapi-users service sharing the collection keeps its guarantee. It
//     is skipped on servers without collations (FerretDB).
//   - "oauth_account_unique": unique on (oauth_accounts.oauth_name,
//     oauth_accounts.account_id), partial to users with accounts, so that
//     one provider account belongs to one user across processes. FerretDB
//     neither enforces unique indexes inside arrays nor has partial
//     indexes: it is skipped there, and a per-account lock of the process
//     keeps accounts unique (see docs/mongostore.md).
//
// A fastapi-users service that shares the collection writes no email_key:
// the users it creates are found by e-mail here only after the next
// EnsureIndexes, and a change of address made there leaves email_key stale.
// Share a collection only while migrating.
//
// # Access tokens
//
// [TokenStore] is a [ginusers.AccessTokenStore] for the database strategy
// (ginusers.NewDatabaseStrategy), in a collection of its own: documents
// {token_digest, user_id, created_at, expires_at}, the SHA-256 digest only,
// never the token. [TokenStore.EnsureIndexes] creates a unique index on
// token_digest, an index on user_id and, where the server has them, a TTL
// index on expires_at; on FerretDB, which has none, expired tokens are
// refused when read and removed by [TokenStore.DeleteExpiredTokens].
//
// # FerretDB
//
// [Store.Update] is one findAndModify whose filter holds the user's _id and
// the conditions of the change (ginusers.UserCondition), and whose update
// sets only the fields the change names. On MongoDB that is atomic, across
// processes. FerretDB v1 applies updates without a lock (read, change in
// Go, write back), so a Store also serialises its writes to one user
// within its process: enough for the embedded FerretDB, which serves one
// process; not for several instances sharing one FerretDB server.
//
// FerretDB v1 lacks collations, so lookups never use one: they compare
// email_key with an exact string (never a regular expression). It has no
// TTL indexes (this package needs none) and no transactions (this package
// uses none: every method is a single write or read). It reports a unique
// violation caused by an update not as a duplicate-key error but as an
// InternalError (code 1); this package maps both to
// [ginusers.ErrUserExists]. FerretDB scans the collection for every lookup,
// about 5 ms per 1,000 users on SQLite: fine for development and small
// installations, while production belongs on MongoDB. The same goes for the
// writes of the email_key backfill, which therefore takes about 10 seconds
// for 1,000 users lacking the key on FerretDB (and a blink on MongoDB).
//
// # Errors
//
// Errors are prefixed "mongostore: ". Where a driver error means a
// condition of [ginusers.Store]'s contract, the returned error wraps both
// the ginusers sentinel and the driver's error, so errors.Is(err,
// ginusers.ErrUserExists) and mongo.IsDuplicateKeyError(err) can both
// hold. Every method uses the caller's context for its driver calls.
//
// When the server cannot be reached in time (a server selection error, a
// network error, or a timeout: the client's, maxTimeMS, or the deadline of
// the caller's context), the error wraps both [ginusers.ErrUnavailable] and
// the driver's error, and the routes answer 503 with Retry-After. A
// cancelled context is not unavailability. How long a call waits for an
// unreachable server is the client's to bound: set a server selection
// timeout (and a per-operation timeout) on it, such as
//
//	options.Client().ApplyURI(uri).
//		SetServerSelectionTimeout(2 * time.Second).
//		SetConnectTimeout(2 * time.Second).
//		SetTimeout(2 * time.Second)
//
// The driver's default server selection timeout is 30 seconds, during which
// every request waits for a server that is down.
package mongostore
