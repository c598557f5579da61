package mongostore

import (
	"context"
	"crypto/rand"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
)

// Index names created by [Store.EnsureIndexes].
const (
	// emailKeyIndex makes email_key unique. It is sparse, so documents
	// written by programs that do not know email_key (fastapi-users) do not
	// collide on a missing key.
	emailKeyIndex = "email_key_unique"
	// collationIndex is the unique case-insensitive index that
	// fastapi-users' Beanie model declares on email.
	collationIndex = "case_insensitive_email_index"
)

// backfillBatch is how many documents lacking email_key are read at once.
const backfillBatch = 1000

// EnsureIndexes prepares the collection; call it once at start-up, before
// serving requests. It is idempotent and safe to run from several processes
// at once. In order, it:
//
//  1. sets email_key on every document that lacks it (users written by
//     fastapi-users or another program sharing the collection) or whose
//     key follows an older definition of [ginusers.EmailKey] (email_key_v
//     below 2: before domains were compared in their IDNA form), from the
//     document's email, and marks it with the current email_key_v;
//  2. migrates the revocation time of the first release
//     (tokens_valid_after) to a session epoch: such users get a new epoch,
//     which ends the sessions they had before the upgrade;
//  3. creates the unique (sparse) index "email_key_unique" on email_key;
//  4. creates fastapi-users' unique index "case_insensitive_email_index" on
//     email with the collation {locale: "en", strength: 2}. A server without
//     collations (FerretDB answers NotImplemented, code 238) is not an
//     error: email_key alone keeps addresses unique.
//  5. creates the unique index "oauth_account_unique" on
//     (oauth_accounts.oauth_name, oauth_accounts.account_id), partial to
//     users with accounts, so that one provider account belongs to one
//     user across processes. FerretDB does not enforce unique indexes
//     inside arrays and has no partial indexes (NotImplemented): there,
//     not an error, and the Store's per-account lock keeps accounts unique
//     within the process. Users sharing an account make it fail with an
//     error wrapping [ginusers.ErrOAuthAccountTaken].
//
// If two users' addresses are equal ignoring case, or once their domains
// are compared in IDNA form (alice@ｅxample.com and alice@example.com),
// step 1 or 3 fails with an
// error wrapping [ginusers.ErrUserExists] and the driver's error; resolve
// the duplicates by hand, then call EnsureIndexes again. Other errors are
// the driver's, wrapped.
func (s *Store[F]) EnsureIndexes(ctx context.Context) error {
	if err := s.backfillEmailKeys(ctx); err != nil {
		return err
	}
	if err := s.migrateTokensValidAfter(ctx); err != nil {
		return err
	}
	_, err := s.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: fieldEmailKey, Value: 1}},
		Options: options.Index().SetName(emailKeyIndex).SetUnique(true).SetSparse(true),
	})
	if err != nil {
		return indexError(emailKeyIndex, err)
	}
	_, err = s.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: fieldEmail, Value: 1}},
		Options: options.Index().SetName(collationIndex).SetUnique(true).
			SetCollation(&options.Collation{Locale: "en", Strength: 2}),
	})
	if err != nil && !isNotImplemented(err) {
		return indexError(collationIndex, err)
	}
	return s.ensureOAuthIndex(ctx)
}

func indexError(name string, err error) error {
	if isDuplicate(err) {
		return fmt.Errorf("mongostore: create index %s: users share an e-mail address ignoring case: %w: %w", name, ginusers.ErrUserExists, err)
	}
	return fmt.Errorf("mongostore: create index %s: %w", name, unavailable(err))
}

// backfillEmailKeys sets email_key and email_key_v on the documents whose
// key is missing or follows an older definition, in batches in _id order.
// Each write is conditional on the document's email being the one read, so
// a concurrent change of address (which writes the key itself) wins. A
// document whose email is not a string is left as it is.
func (s *Store[F]) backfillEmailKeys(ctx context.Context) error {
	stale := bson.E{Key: "$or", Value: bson.A{
		bson.D{{Key: fieldEmailKeyVersion, Value: nil}},
		bson.D{{Key: fieldEmailKeyVersion, Value: bson.D{{Key: "$lt", Value: emailKeyVersion}}}},
	}}
	opts := options.Find().
		SetSort(bson.D{{Key: fieldID, Value: 1}}).
		SetLimit(s.backfillBatch).
		SetProjection(bson.D{{Key: fieldID, Value: 1}, {Key: fieldEmail, Value: 1}, {Key: fieldEmailKey, Value: 1}})
	var last *bson.RawValue
	for {
		filter := bson.D{stale}
		if last != nil {
			filter = append(filter, bson.E{Key: fieldID, Value: bson.D{{Key: "$gt", Value: *last}}})
		}
		var batch []struct {
			ID       bson.RawValue `bson:"_id"`
			Email    bson.RawValue `bson:"email"`
			EmailKey bson.RawValue `bson:"email_key"`
		}
		cur, err := s.coll.Find(ctx, filter, opts)
		if err != nil {
			return fmt.Errorf("mongostore: backfill email_key: %w", unavailable(err))
		}
		// All reads the batch and closes the cursor before the updates.
		if err := cur.All(ctx, &batch); err != nil {
			return fmt.Errorf("mongostore: backfill email_key: %w", unavailable(err))
		}
		for _, d := range batch {
			email, ok := d.Email.StringValueOK()
			if !ok {
				continue
			}
			set := bson.D{{Key: fieldEmailKeyVersion, Value: emailKeyVersion}}
			if key := ginusers.EmailKey(email); d.EmailKey.Type != bson.TypeString || d.EmailKey.StringValue() != key {
				set = append(set, bson.E{Key: fieldEmailKey, Value: key})
			}
			_, err := s.coll.UpdateOne(ctx,
				bson.D{{Key: fieldID, Value: d.ID}, {Key: fieldEmail, Value: email}, stale},
				bson.D{{Key: "$set", Value: set}})
			if isDuplicate(err) {
				return fmt.Errorf("mongostore: backfill email_key of user %s: another user has the same address ignoring case: %w: %w",
					d.ID, ginusers.ErrUserExists, err)
			}
			if err != nil {
				return fmt.Errorf("mongostore: backfill email_key: %w", unavailable(err))
			}
		}
		if int64(len(batch)) < s.backfillBatch {
			return nil
		}
		last = &batch[len(batch)-1].ID
	}
}

// migrateTokensValidAfter gives the users that carry the revocation time
// of the first release a new session epoch and removes the old field. The
// tokens issued before the upgrade carry no epoch, so they stop working
// for those users (they had had a revocation event); the other users keep
// their sessions.
func (s *Store[F]) migrateTokensValidAfter(ctx context.Context) error {
	_, err := s.coll.UpdateMany(ctx,
		bson.D{{Key: fieldTokensValidAfter, Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: fieldSessionEpoch, Value: "migrated-" + rand.Text()}}},
			{Key: "$unset", Value: bson.D{{Key: fieldTokensValidAfter, Value: ""}, {Key: fieldRevokedTokens, Value: ""}}},
		})
	if err != nil {
		return fmt.Errorf("mongostore: migrate tokens_valid_after: %w", err)
	}
	return nil
}
