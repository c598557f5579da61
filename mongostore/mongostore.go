package mongostore

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
)

// Store is a [ginusers.Store] that keeps users in a MongoDB collection, one
// document per user (see the package documentation for the layout). F is
// the application's field type; it must be a struct (or [ginusers.NoFields])
// whose fields have bson tags, and is stored inline in the user document.
//
// Call [Store.EnsureIndexes] once before use: the unique index on email_key
// is what makes e-mail addresses unique, also under concurrent writes.
//
// Create Stores with [New]; the zero value is not usable. A Store is safe
// for concurrent use.
type Store[F any] struct {
	coll *mongo.Collection
	// schemaErr is set when F cannot be stored inline.
	schemaErr error
	// fields maps the Go names of F's fields to their document paths, for
	// the updates of Update.
	fields map[string][][]string
	// ns names the collection ("db.collection") in the keys of
	// processWrites.
	ns string
	// backfillBatch is the batch size of EnsureIndexes' backfill.
	backfillBatch int64
}

var (
	_ ginusers.Store[ginusers.NoFields]      = (*Store[ginusers.NoFields])(nil)
	_ ginusers.OAuthStore[ginusers.NoFields] = (*Store[ginusers.NoFields])(nil)
)

// Option configures [New].
type Option func(*storeOptions)

type storeOptions struct {
	backfillBatch int64
}

// WithBackfillBatch sets how many documents [Store.EnsureIndexes] reads at
// once when it sets or recomputes e-mail keys; the default is 1,000. Values
// below 1 keep the default.
func WithBackfillBatch(n int64) Option {
	return func(o *storeOptions) {
		if n > 0 {
			o.backfillBatch = n
		}
	}
}

// New returns a Store keeping users in coll. It does no I/O and starts no
// goroutines; call [Store.EnsureIndexes] before serving requests.
//
// If F is neither a struct nor a map, every method returns an error.
func New[F any](coll *mongo.Collection, opts ...Option) *Store[F] {
	o := storeOptions{backfillBatch: backfillBatch}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store[F]{coll: coll, backfillBatch: o.backfillBatch, ns: coll.Database().Name() + "." + coll.Name()}
	_, s.schemaErr = schemaKeys(reflect.TypeFor[userDoc[F]]())
	if s.schemaErr == nil {
		s.fields, s.schemaErr = fieldPaths(reflect.TypeFor[F]())
	}
	if s.schemaErr != nil {
		s.schemaErr = fmt.Errorf("mongostore: cannot store the application fields %s: %w", reflect.TypeFor[F](), s.schemaErr)
	}
	return s
}

// Create inserts u as a new document with a new ObjectID and, on success,
// sets u.ID to its hex form; any ID the caller set is ignored. It returns an
// error wrapping both [ginusers.ErrUserExists] and the driver's error when
// another user has the same [ginusers.EmailKey].
func (s *Store[F]) Create(ctx context.Context, u *ginusers.User[F]) error {
	if s.schemaErr != nil {
		return s.schemaErr
	}
	doc := newDoc(bson.NewObjectID(), u)
	if len(u.OAuthAccounts) > 0 {
		// One account, one user: checked and written under the accounts'
		// locks (and refused by the unique index on MongoDB).
		unlock := s.lockLinks(u.OAuthAccounts)
		defer unlock()
		if err := s.checkUnlinked(ctx, u.OAuthAccounts); err != nil {
			return err
		}
	}
	if _, err := s.coll.InsertOne(ctx, doc); err != nil {
		return linkError("create user", err)
	}
	u.ID = doc.ID.Hex()
	for i := range u.OAuthAccounts {
		u.OAuthAccounts[i].ID = doc.OAuthAccounts[i].ID.Hex()
	}
	return nil
}

// Get returns the user whose ID is id. It returns an error wrapping
// [ginusers.ErrUserNotFound] when there is none and when id is not the hex
// form of an ObjectID (24 lower-case hex digits).
func (s *Store[F]) Get(ctx context.Context, id string) (*ginusers.User[F], error) {
	if s.schemaErr != nil {
		return nil, s.schemaErr
	}
	oid, ok := parseID(id)
	if !ok {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mongostore: get user: %w", err)
		}
		return nil, notFound("get user: invalid id")
	}
	return s.findOne(ctx, "get user", bson.D{{Key: fieldID, Value: oid}})
}

// GetByEmail returns the user whose [ginusers.EmailKey] equals that of
// email, compared as an exact string on the email_key field, or an error
// wrapping [ginusers.ErrUserNotFound].
func (s *Store[F]) GetByEmail(ctx context.Context, email string) (*ginusers.User[F], error) {
	if s.schemaErr != nil {
		return nil, s.schemaErr
	}
	return s.findOne(ctx, "get user by email", bson.D{{Key: fieldEmailKey, Value: ginusers.EmailKey(email)}})
}

func (s *Store[F]) findOne(ctx context.Context, op string, filter bson.D) (*ginusers.User[F], error) {
	var doc userDoc[F]
	err := s.coll.FindOne(ctx, filter).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("mongostore: %s: %w: %w", op, ginusers.ErrUserNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("mongostore: %s: %w", op, unavailable(err))
	}
	return doc.user(), nil
}

// Update writes ch to the document with ID id if when holds, and returns
// the user as written. It is one findAndModify whose filter holds the _id
// and the conditions, and whose update sets (or unsets) only the fields ch
// names: on MongoDB the check and the write are atomic, across processes
// too. On FerretDB, whose updates are not atomic, they are atomic among the
// writers of this Store's process (see the package documentation).
//
// It returns an error wrapping [ginusers.ErrUserNotFound] when no user has
// ID id (or id cannot be parsed), one wrapping [ginusers.ErrConflict] when
// the user exists but a condition does not hold, and one wrapping both
// [ginusers.ErrUserExists] and the driver's error when another user has the
// new [ginusers.EmailKey]; in these cases nothing changes. The OAuth
// accounts, and fields of the document that are not part of the schema,
// are left alone.
func (s *Store[F]) Update(ctx context.Context, id string, ch ginusers.UserChange[F], when ginusers.UserCondition) (*ginusers.User[F], error) {
	if s.schemaErr != nil {
		return nil, s.schemaErr
	}
	oid, ok := parseID(id)
	if !ok {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mongostore: update user: %w", err)
		}
		return nil, notFound("update user: invalid id")
	}
	ops, err := updateDoc(&ch, s.fields)
	if err != nil {
		return nil, fmt.Errorf("mongostore: update user: %w", err)
	}
	filter := conditionFilter(oid, when)
	unlock := processWrites.lock(s.ns + "\x00" + id)
	defer unlock()
	var doc userDoc[F]
	if len(ops) == 0 {
		err = s.coll.FindOne(ctx, filter).Decode(&doc)
	} else {
		err = s.coll.FindOneAndUpdate(ctx, filter, ops, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		// Nothing matched: tell a missing user from a failed condition.
		n, cerr := s.coll.CountDocuments(ctx, bson.D{{Key: fieldID, Value: oid}})
		switch {
		case cerr != nil:
			return nil, fmt.Errorf("mongostore: update user: %w", cerr)
		case n == 0:
			return nil, notFound("update user")
		}
		return nil, fmt.Errorf("mongostore: update user: %w", ginusers.ErrConflict)
	}
	if err != nil {
		return nil, wrapWrite("update user", err)
	}
	return doc.user(), nil
}

// Delete removes the user with the given id if the stored user meets when
// (one deleteOne whose filter holds the conditions). It returns an error
// wrapping [ginusers.ErrUserNotFound] when there is none or id cannot be
// parsed, and [ginusers.ErrConflict] when the user does not meet when.
func (s *Store[F]) Delete(ctx context.Context, id string, when ginusers.UserCondition) error {
	if s.schemaErr != nil {
		return s.schemaErr
	}
	oid, ok := parseID(id)
	if !ok {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("mongostore: delete user: %w", err)
		}
		return notFound("delete user: invalid id")
	}
	// The condition is in the filter; the process-wide lock of the user
	// keeps FerretDB, whose delete is not atomic with an update, from
	// deleting a user an Update of this process is changing.
	unlock := processWrites.lock(s.ns + "\x00" + id)
	defer unlock()
	res, err := s.coll.DeleteOne(ctx, conditionFilter(oid, when))
	if err != nil {
		return fmt.Errorf("mongostore: delete user: %w", unavailable(err))
	}
	if res.DeletedCount == 0 {
		// Nothing matched: tell a missing user from a failed condition.
		n, cerr := s.coll.CountDocuments(ctx, bson.D{{Key: fieldID, Value: oid}})
		switch {
		case cerr != nil:
			return fmt.Errorf("mongostore: delete user: %w", unavailable(cerr))
		case n == 0:
			return notFound("delete user")
		}
		return fmt.Errorf("mongostore: delete user: %w", ginusers.ErrConflict)
	}
	return nil
}
