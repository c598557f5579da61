package mongostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
)

// Field names of the OAuth accounts, as fastapi-users' Beanie adapter
// stores them: an array of subdocuments in the user document.
const (
	fieldOAuthAccounts = "oauth_accounts"
	fieldOAuthName     = "oauth_name"
	fieldAccountID     = "account_id"
	fieldAccountEmail  = "account_email"
	fieldAccessToken   = "access_token"
	fieldRefreshToken  = "refresh_token"
	fieldExpiresAt     = "expires_at"
)

// oauthIndex is the unique index on (oauth_name, account_id) inside
// oauth_accounts, created where the server enforces it (MongoDB): see
// [Store.EnsureIndexes].
const oauthIndex = "oauth_account_unique"

// oauthDoc is the stored form of a [ginusers.OAuthAccount]: Beanie's
// embedded OAuthAccount (id an ObjectID stored as "id", expires_at an
// integer of seconds or null, refresh_token a string or null).
type oauthDoc struct {
	ID           bson.ObjectID `bson:"id"`
	OAuthName    string        `bson:"oauth_name"`
	AccessToken  string        `bson:"access_token"`
	AccountID    string        `bson:"account_id"`
	AccountEmail string        `bson:"account_email"`
	ExpiresAt    *int64        `bson:"expires_at"`
	RefreshToken *string       `bson:"refresh_token"`
}

func newOAuthDoc(a *ginusers.OAuthAccount) oauthDoc {
	d := oauthDoc{
		OAuthName: a.OAuthName, AccessToken: a.AccessToken, AccountID: a.AccountID, AccountEmail: a.AccountEmail,
	}
	if oid, ok := parseID(a.ID); ok {
		d.ID = oid
	} else {
		d.ID = bson.NewObjectID()
	}
	if !a.ExpiresAt.IsZero() {
		d.ExpiresAt = ptrTo(a.ExpiresAt.Unix())
	}
	if a.RefreshToken != "" {
		d.RefreshToken = ptrTo(a.RefreshToken)
	}
	return d
}

func (d *oauthDoc) account() ginusers.OAuthAccount {
	a := ginusers.OAuthAccount{
		ID: d.ID.Hex(), OAuthName: d.OAuthName, AccountID: d.AccountID, AccountEmail: d.AccountEmail,
		AccessToken: d.AccessToken,
	}
	if d.ID.IsZero() {
		a.ID = ""
	}
	if d.ExpiresAt != nil {
		a.ExpiresAt = time.Unix(*d.ExpiresAt, 0).UTC()
	}
	if d.RefreshToken != nil {
		a.RefreshToken = *d.RefreshToken
	}
	return a
}

func ptrTo[T any](v T) *T { return &v }

// parseUserID parses the id of a user for op: an id that is not the hex
// form of an ObjectID is not found (or the context's error, if it ended).
func parseUserID(ctx context.Context, id, op string) (bson.ObjectID, error) {
	oid, ok := parseID(id)
	if ok {
		return oid, nil
	}
	if err := ctx.Err(); err != nil {
		return oid, fmt.Errorf("mongostore: %s: %w", op, err)
	}
	return oid, notFound(op + ": invalid id")
}

// processLinks serialises, within this process, the links of one provider
// account (the key is the collection's namespace, the provider and the
// account id), for every Store on that collection: the check that no user
// has the account and the write that links it happen under it. FerretDB
// enforces no unique index inside arrays, so this is what keeps one
// account to one user there; MongoDB has the unique index oauthIndex too,
// which holds across processes.
var processLinks keyedLocks

func (s *Store[F]) linkKey(name, id string) string {
	return s.ns + "\x00" + strconv.Itoa(len(name)) + ":" + name + "\x00" + id
}

// lockLinks locks the keys of accs in a fixed order (so that two writers
// never wait for each other's keys), and returns the function that
// unlocks them.
func (s *Store[F]) lockLinks(accs []ginusers.OAuthAccount) func() {
	keys := make([]string, 0, len(accs))
	for i := range accs {
		keys = append(keys, s.linkKey(accs[i].OAuthName, accs[i].AccountID))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	unlocks := make([]func(), 0, len(keys))
	for _, k := range keys {
		unlocks = append(unlocks, processLinks.lock(k))
	}
	return func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
}

// GetByOAuthAccount returns the user with an oauth_accounts entry whose
// oauth_name is oauthName and whose account_id is accountID, or an error
// wrapping [ginusers.ErrUserNotFound]. The server finds the candidates by
// the two dotted paths (which may match in different entries: MongoDB's
// and FerretDB's semantics for arrays; FerretDB has no $elemMatch on
// subdocuments), and the store keeps only a user with one entry holding
// both.
func (s *Store[F]) GetByOAuthAccount(ctx context.Context, oauthName, accountID string) (*ginusers.User[F], error) {
	if s.schemaErr != nil {
		return nil, s.schemaErr
	}
	cur, err := s.coll.Find(ctx, bson.D{
		{Key: fieldOAuthAccounts + "." + fieldOAuthName, Value: oauthName},
		{Key: fieldOAuthAccounts + "." + fieldAccountID, Value: accountID},
	})
	if err != nil {
		return nil, fmt.Errorf("mongostore: get user by oauth account: %w", unavailable(err))
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var doc userDoc[F]
		if err := cur.Decode(&doc); err != nil {
			return nil, fmt.Errorf("mongostore: get user by oauth account: %w", err)
		}
		if slices.ContainsFunc(doc.OAuthAccounts, func(a oauthDoc) bool {
			return a.OAuthName == oauthName && a.AccountID == accountID
		}) {
			return doc.user(), nil
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongostore: get user by oauth account: %w", unavailable(err))
	}
	return nil, notFound("get user by oauth account")
}

// checkUnlinked returns an error wrapping [ginusers.ErrOAuthAccountTaken]
// when a user has one of accs, or accs holds one twice.
func (s *Store[F]) checkUnlinked(ctx context.Context, accs []ginusers.OAuthAccount) error {
	for i := range accs {
		a := &accs[i]
		if slices.ContainsFunc(accs[:i], func(b ginusers.OAuthAccount) bool {
			return b.OAuthName == a.OAuthName && b.AccountID == a.AccountID
		}) {
			return fmt.Errorf("mongostore: account %s/%s given twice: %w", a.OAuthName, a.AccountID, ginusers.ErrOAuthAccountTaken)
		}
		_, err := s.GetByOAuthAccount(ctx, a.OAuthName, a.AccountID)
		switch {
		case err == nil:
			return fmt.Errorf("mongostore: %w", ginusers.ErrOAuthAccountTaken)
		case !errors.Is(err, ginusers.ErrUserNotFound):
			return err
		}
	}
	return nil
}

// linkError maps a failed write that links accounts: a violation of
// oauthIndex (MongoDB) is [ginusers.ErrOAuthAccountTaken].
func linkError(op string, err error) error {
	if isDuplicate(err) && strings.Contains(err.Error(), oauthIndex) {
		return fmt.Errorf("mongostore: %s: %w: %w", op, ginusers.ErrOAuthAccountTaken, err)
	}
	return wrapWrite(op, err)
}

// AddOAuthAccount appends acc to the user's oauth_accounts with $push, in
// one findAndModify whose filter holds the _id and the conditions of
// when. The check that no user has the account and the write happen under
// a per-account lock of this process (and the per-user lock of
// [Store.Update]); on MongoDB the unique index on the accounts also
// refuses a link made by another process. It returns errors as described
// by [ginusers.OAuthStore].
func (s *Store[F]) AddOAuthAccount(ctx context.Context, id string, acc ginusers.OAuthAccount, when ginusers.UserCondition) (*ginusers.User[F], error) {
	if s.schemaErr != nil {
		return nil, s.schemaErr
	}
	oid, err := parseUserID(ctx, id, "add oauth account")
	if err != nil {
		return nil, err
	}
	unlockLinks := s.lockLinks([]ginusers.OAuthAccount{acc})
	defer unlockLinks()
	unlock := processWrites.lock(s.ns + "\x00" + id)
	defer unlock()
	if err := s.checkUnlinked(ctx, []ginusers.OAuthAccount{acc}); err != nil {
		return nil, err
	}
	filter := conditionFilter(oid, when)
	var doc userDoc[F]
	err = s.coll.FindOneAndUpdate(ctx, filter,
		bson.D{{Key: "$push", Value: bson.D{{Key: fieldOAuthAccounts, Value: newOAuthDoc(&acc)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, s.missingOrConflict(ctx, oid, "add oauth account")
	}
	if err != nil {
		return nil, linkError("add oauth account", err)
	}
	return doc.user(), nil
}

// missingOrConflict tells, after a conditional write matched nothing, a
// missing user from a failed condition.
func (s *Store[F]) missingOrConflict(ctx context.Context, oid bson.ObjectID, op string) error {
	n, err := s.coll.CountDocuments(ctx, bson.D{{Key: fieldID, Value: oid}})
	switch {
	case err != nil:
		return fmt.Errorf("mongostore: %s: %w", op, unavailable(err))
	case n == 0:
		return notFound(op)
	}
	return fmt.Errorf("mongostore: %s: %w", op, ginusers.ErrConflict)
}

// UpdateOAuthAccount sets account_email, access_token, refresh_token and
// expires_at of the user's entry with acc's provider and account id, by
// its index in the array (oauth_accounts.N.field: FerretDB supports
// neither the positional $ nor arrayFilters), under the per-user lock.
// The write's filter is the _id alone (FerretDB on PostgreSQL matches
// nothing with a dotted filter in an update); ginusers only ever appends
// to the array, so an entry's index does not change.
func (s *Store[F]) UpdateOAuthAccount(ctx context.Context, id string, acc ginusers.OAuthAccount) (*ginusers.User[F], error) {
	if s.schemaErr != nil {
		return nil, s.schemaErr
	}
	oid, err := parseUserID(ctx, id, "update oauth account")
	if err != nil {
		return nil, err
	}
	unlock := processWrites.lock(s.ns + "\x00" + id)
	defer unlock()
	var cur struct {
		Accounts []oauthDoc `bson:"oauth_accounts"`
	}
	err = s.coll.FindOne(ctx, bson.D{{Key: fieldID, Value: oid}},
		options.FindOne().SetProjection(bson.D{{Key: fieldOAuthAccounts, Value: 1}})).Decode(&cur)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, notFound("update oauth account")
	}
	if err != nil {
		return nil, fmt.Errorf("mongostore: update oauth account: %w", unavailable(err))
	}
	i := slices.IndexFunc(cur.Accounts, func(a oauthDoc) bool {
		return a.OAuthName == acc.OAuthName && a.AccountID == acc.AccountID
	})
	if i < 0 {
		return nil, fmt.Errorf("mongostore: update oauth account: %w", ginusers.ErrOAuthAccountNotFound)
	}
	d := newOAuthDoc(&acc)
	p := fieldOAuthAccounts + "." + strconv.Itoa(i) + "."
	set := bson.D{
		{Key: p + fieldAccountEmail, Value: d.AccountEmail},
		{Key: p + fieldAccessToken, Value: d.AccessToken},
		{Key: p + fieldRefreshToken, Value: d.RefreshToken},
		{Key: p + fieldExpiresAt, Value: d.ExpiresAt},
	}
	var doc userDoc[F]
	err = s.coll.FindOneAndUpdate(ctx, bson.D{{Key: fieldID, Value: oid}}, bson.D{{Key: "$set", Value: set}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, notFound("update oauth account")
	}
	if err != nil {
		return nil, wrapWrite("update oauth account", err)
	}
	return doc.user(), nil
}

// ensureOAuthIndex creates the unique index on (oauth_name, account_id)
// inside oauth_accounts, partial to the users that have accounts. MongoDB
// indexes the pairs of one entry together (both paths lie in one array),
// so the index refuses a second user with an entry of the same provider
// and account id. FerretDB neither enforces unique indexes inside arrays
// nor implements partial indexes: it answers NotImplemented, which is not
// an error here (the per-account lock of the process keeps accounts
// unique there).
func (s *Store[F]) ensureOAuthIndex(ctx context.Context) error {
	_, err := s.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{
			{Key: fieldOAuthAccounts + "." + fieldOAuthName, Value: 1},
			{Key: fieldOAuthAccounts + "." + fieldAccountID, Value: 1},
		},
		Options: options.Index().SetName(oauthIndex).SetUnique(true).
			SetPartialFilterExpression(bson.D{{Key: fieldOAuthAccounts + "." + fieldAccountID, Value: bson.D{{Key: "$exists", Value: true}}}}),
	})
	if err != nil && !isNotImplemented(err) {
		if isDuplicate(err) {
			return fmt.Errorf("mongostore: create index %s: users share an OAuth account: %w: %w", oauthIndex, ginusers.ErrOAuthAccountTaken, err)
		}
		return fmt.Errorf("mongostore: create index %s: %w", oauthIndex, unavailable(err))
	}
	return nil
}
