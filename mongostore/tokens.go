package mongostore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
)

// Field names of the access token document.
const (
	fieldTokenDigest    = "token_digest"
	fieldTokenUserID    = "user_id"
	fieldTokenCreatedAt = "created_at"
	fieldTokenExpiresAt = "expires_at"
)

// Index names created by [TokenStore.EnsureIndexes].
const (
	tokenDigestIndex = "token_digest_unique"
	tokenUserIndex   = "user_id"
	tokenTTLIndex    = "expires_at_ttl"
)

// tokenDoc is the stored form of a [ginusers.AccessToken].
type tokenDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	Digest    string        `bson:"token_digest"`
	UserID    string        `bson:"user_id"`
	CreatedAt time.Time     `bson:"created_at"`
	ExpiresAt time.Time     `bson:"expires_at"`
	Epoch     string        `bson:"epoch,omitempty"`
}

// TokenStore is a [ginusers.AccessTokenStore] that keeps access tokens in a
// MongoDB collection, one document per token:
//
//	{
//	  "_id":          ObjectID,
//	  "token_digest": string,  // lower-case hex SHA-256 of the token; unique
//	  "user_id":      string,  // the user's ID, as ginusers gives it
//	  "created_at":   date,
//	  "expires_at":   date,
//	  "epoch":        string,  // the user's session epoch at login; absent when empty
//	}
//
// Only the digest is stored, never the token. Dates are BSON datetimes, so
// they keep millisecond precision, and are returned in UTC.
//
// Call [TokenStore.EnsureIndexes] once before use: the unique index on
// token_digest is what makes [TokenStore.CreateToken] refuse a stored
// digest, also under concurrent writes.
//
// Expired tokens are removed by MongoDB's TTL index on expires_at, within
// about a minute of expiring; FerretDB has no TTL indexes, so there call
// [TokenStore.DeleteExpiredTokens] now and then (see
// [TokenStore.HasTTLIndex]). Until a token is removed, GetToken returns it,
// and the caller checks ExpiresAt.
//
// A TokenStore is safe for concurrent use. Every method does one
// single-document or multi-document command with the caller's context, and
// none relies on transactions or on atomic read-modify-write, so all of
// them keep their contract on FerretDB too.
type TokenStore struct {
	coll *mongo.Collection
	// ttl is set when the last EnsureIndexes left a TTL index on
	// expires_at, and cleared when the server refused one.
	ttl atomic.Bool
}

var _ ginusers.AccessTokenStore = (*TokenStore)(nil)

// NewTokenStore returns a TokenStore keeping access tokens in coll, which
// should hold nothing else (in particular not the users). It does no I/O
// and starts no goroutines; call [TokenStore.EnsureIndexes] before serving
// requests.
func NewTokenStore(coll *mongo.Collection) *TokenStore {
	return &TokenStore{coll: coll}
}

// EnsureIndexes creates the indexes of the collection; call it once at
// start-up, before serving requests. It is idempotent and safe to run from
// several processes at once. It creates:
//
//   - "token_digest_unique": unique, on token_digest;
//   - "user_id": on user_id, for [TokenStore.DeleteUserTokens];
//   - "expires_at_ttl": a TTL index on expires_at with expireAfterSeconds 0,
//     so that MongoDB deletes each token once it has expired. A server
//     without TTL indexes (FerretDB answers NotImplemented, code 238) is not
//     an error: [TokenStore.HasTTLIndex] then reports false, and the
//     application should call [TokenStore.DeleteExpiredTokens] now and then.
//
// Errors are the driver's, wrapped.
func (s *TokenStore) EnsureIndexes(ctx context.Context) error {
	// One index per command: FerretDB v1.24.2 panics (and drops the
	// connection) on a createIndexes of several indexes two of which exist
	// already, as on every call after the first.
	for _, m := range []mongo.IndexModel{
		{
			Keys:    bson.D{{Key: fieldTokenDigest, Value: 1}},
			Options: options.Index().SetName(tokenDigestIndex).SetUnique(true),
		},
		{
			Keys:    bson.D{{Key: fieldTokenUserID, Value: 1}},
			Options: options.Index().SetName(tokenUserIndex),
		},
	} {
		if _, err := s.coll.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("mongostore: create token index: %w", unavailable(err))
		}
	}
	_, err := s.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: fieldTokenExpiresAt, Value: 1}},
		Options: options.Index().SetName(tokenTTLIndex).SetExpireAfterSeconds(0),
	})
	switch {
	case err == nil:
		s.ttl.Store(true)
	case isNotImplemented(err):
		s.ttl.Store(false)
	default:
		return fmt.Errorf("mongostore: create token index %s: %w", tokenTTLIndex, unavailable(err))
	}
	return nil
}

// HasTTLIndex reports whether the last successful [TokenStore.EnsureIndexes]
// created (or found) the TTL index on expires_at, that is, whether the
// server deletes expired tokens by itself. It is false before
// EnsureIndexes and on servers without TTL indexes, such as FerretDB; an
// application can use it to decide whether to run a periodic
// [TokenStore.DeleteExpiredTokens]. It is safe to call concurrently with
// every other method.
func (s *TokenStore) HasTTLIndex() bool { return s.ttl.Load() }

// CreateToken inserts t as a new document. It returns an error wrapping
// both [ginusers.ErrTokenExists] and the driver's error when a token with
// the same digest is stored already (as the unique index reports it, so
// EnsureIndexes must have run), and the driver's error otherwise.
func (s *TokenStore) CreateToken(ctx context.Context, t ginusers.AccessToken) error {
	_, err := s.coll.InsertOne(ctx, tokenDoc{
		ID:        bson.NewObjectID(),
		Digest:    t.Digest,
		UserID:    t.UserID,
		CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt,
		Epoch:     t.Epoch,
	})
	if isDuplicate(err) {
		return fmt.Errorf("mongostore: create token: %w: %w", ginusers.ErrTokenExists, err)
	}
	if err != nil {
		return fmt.Errorf("mongostore: create token: %w", unavailable(err))
	}
	return nil
}

// GetToken returns the token whose digest equals digest (compared as an
// exact string), or an error wrapping [ginusers.ErrTokenNotFound]. It
// returns an expired token that has not been deleted yet; the caller
// checks ExpiresAt.
func (s *TokenStore) GetToken(ctx context.Context, digest string) (ginusers.AccessToken, error) {
	var d tokenDoc
	err := s.coll.FindOne(ctx, bson.D{{Key: fieldTokenDigest, Value: digest}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ginusers.AccessToken{}, fmt.Errorf("mongostore: get token: %w", ginusers.ErrTokenNotFound)
	}
	if err != nil {
		return ginusers.AccessToken{}, fmt.Errorf("mongostore: get token: %w", unavailable(err))
	}
	return ginusers.AccessToken{
		Digest:    d.Digest,
		UserID:    d.UserID,
		CreatedAt: d.CreatedAt.UTC(),
		ExpiresAt: d.ExpiresAt.UTC(),
		Epoch:     d.Epoch,
	}, nil
}

// DeleteToken deletes the token with the given digest with one DeleteOne
// and reports whether this call deleted it (DeletedCount == 1). Of
// concurrent calls for one token exactly one reports true, also on
// FerretDB, whose deletes report the rows they removed.
func (s *TokenStore) DeleteToken(ctx context.Context, digest string) (bool, error) {
	res, err := s.coll.DeleteOne(ctx, bson.D{{Key: fieldTokenDigest, Value: digest}})
	if err != nil {
		return false, fmt.Errorf("mongostore: delete token: %w", unavailable(err))
	}
	return res.DeletedCount == 1, nil
}

// DeleteUserTokens deletes every token of the user, expired or not, with
// one DeleteMany, and returns how many it deleted.
func (s *TokenStore) DeleteUserTokens(ctx context.Context, userID string) (int64, error) {
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: fieldTokenUserID, Value: userID}})
	if err != nil {
		return 0, fmt.Errorf("mongostore: delete user tokens: %w", unavailable(err))
	}
	return res.DeletedCount, nil
}

// DeleteExpiredTokens deletes the tokens whose expires_at is before now
// and returns how many. It always runs the DeleteMany, with or without a
// TTL index: on FerretDB it is the only way tokens go away, and on MongoDB
// it is cheap (the TTL index serves the query) and removes tokens the TTL
// monitor, which runs once a minute, has not reached yet, so the count is
// exact either way.
func (s *TokenStore) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: fieldTokenExpiresAt, Value: bson.D{{Key: "$lt", Value: now}}}})
	if err != nil {
		return 0, fmt.Errorf("mongostore: delete expired tokens: %w", unavailable(err))
	}
	return res.DeletedCount, nil
}
