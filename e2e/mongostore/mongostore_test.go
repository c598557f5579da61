package mongostore_test

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/mongotest"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Run(m)) }

// newStore returns a store on a fresh collection, with its indexes.
func newStore(t *testing.T) (*mongostore.Store[storetest.Fields], *mongo.Collection) {
	t.Helper()
	coll := mongotest.Database(t).Collection("users")
	s := mongostore.New[storetest.Fields](coll)
	if err := s.EnsureIndexes(t.Context()); err != nil {
		t.Fatalf("EnsureIndexes() error = %v, want nil", err)
	}
	return s, coll
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ginusers.Store[storetest.Fields] {
		s, _ := newStore(t)
		return s
	})
}

func ptr[T any](v T) *T { return &v }

func rawDoc(t *testing.T, coll *mongo.Collection, id string) bson.M {
	t.Helper()
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		t.Fatalf("ObjectIDFromHex(%q) error = %v, want nil", id, err)
	}
	var m bson.M
	if err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: oid}}).Decode(&m); err != nil {
		t.Fatalf("FindOne(_id %s) error = %v, want nil", id, err)
	}
	return m
}

func keys(m bson.M) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestDocumentLayout(t *testing.T) {
	s, coll := newStore(t)
	ctx := t.Context()
	exp := time.Date(2024, time.May, 17, 10, 30, 15, 123_000_000, time.UTC)
	u := &ginusers.User[storetest.Fields]{
		Email:          "King.Arthur@Camelot.bt",
		HashedPassword: "hash",
		Active:         true,
		Verified:       true,
		SessionEpoch:   "epoch-1",
		RevokedTokens:  map[string]time.Time{"JTI1": exp},
		Fields:         storetest.Fields{FirstName: ptr("Arthur"), Age: 42},
	}
	if err := s.Create(ctx, u); err != nil {
		t.Fatalf("Create() error = %v, want nil", err)
	}

	m := rawDoc(t, coll, u.ID)
	want := bson.M{
		"_id":             m["_id"],
		"email":           "King.Arthur@Camelot.bt",
		"email_key":       "king.arthur@camelot.bt",
		"email_key_v":     int64(2),
		"hashed_password": "hash",
		"is_active":       true,
		"is_superuser":    false,
		"is_verified":     true,
		"session_epoch":   "epoch-1",
		"revoked_tokens":  bson.D{{Key: "JTI1", Value: bson.NewDateTimeFromTime(exp)}},
		"first_name":      "Arthur",
		"age":             int64(42),
	}
	if got, wantKeys := keys(m), keys(want); !slices.Equal(got, wantKeys) {
		t.Fatalf("stored document keys = %v, want %v", got, wantKeys)
	}
	if oid, ok := m["_id"].(bson.ObjectID); !ok || oid.Hex() != u.ID {
		t.Fatalf("stored _id = %#v (%T), want ObjectID %s", m["_id"], m["_id"], u.ID)
	}
	for k, w := range want {
		got := m[k]
		if i, ok := got.(int32); ok {
			got = int64(i)
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("stored %s = %#v (%T), want %#v (%T)", k, m[k], m[k], w, w)
		}
	}

	// Clearing optional fields removes them from the document.
	_, err := s.Update(ctx, u.ID, ginusers.UserChange[storetest.Fields]{SessionEpoch: ptr(""), FieldNames: []string{"FirstName"}}, ginusers.UserCondition{})
	if err != nil {
		t.Fatalf("Update() error = %v, want nil", err)
	}
	m = rawDoc(t, coll, u.ID)
	for _, k := range []string{"session_epoch", "revoked_tokens", "first_name", "last_name"} {
		if v, ok := m[k]; ok {
			t.Fatalf("stored %s = %#v after clearing it, want no such field", k, v)
		}
	}
}

func TestCreateLeavesIDOnError(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	if err := s.Create(ctx, &ginusers.User[storetest.Fields]{Email: "kay@camelot.bt"}); err != nil {
		t.Fatalf("Create() error = %v, want nil", err)
	}
	dup := &ginusers.User[storetest.Fields]{ID: "caller", Email: "KAY@camelot.bt"}
	err := s.Create(ctx, dup)
	if !errors.Is(err, ginusers.ErrUserExists) {
		t.Fatalf("Create() of a taken address error = %v, want one wrapping %v", err, ginusers.ErrUserExists)
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("Create() of a taken address error = %v (%T), want one wrapping a mongo.ServerError", err, err)
	}
	if dup.ID != "caller" {
		t.Fatalf("failed Create() set ID = %q, want it unchanged (%q)", dup.ID, "caller")
	}
}

func TestUpdateDuplicateIsUserExists(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	a := &ginusers.User[storetest.Fields]{Email: "Arthur@Camelot.bt"}
	b := &ginusers.User[storetest.Fields]{Email: "kay@camelot.bt"}
	for _, u := range []*ginusers.User[storetest.Fields]{a, b} {
		if err := s.Create(ctx, u); err != nil {
			t.Fatalf("Create(%q) error = %v, want nil", u.Email, err)
		}
	}
	_, err := s.Update(ctx, b.ID, ginusers.UserChange[storetest.Fields]{Email: ptr("arthur@camelot.bt")}, ginusers.UserCondition{})
	t.Logf("Update() error = %v", err)
	if !errors.Is(err, ginusers.ErrUserExists) {
		t.Fatalf("Update() to a taken address error = %v, want one wrapping %v", err, ginusers.ErrUserExists)
	}
	// The driver's error is kept too: a duplicate-key error on MongoDB,
	// FerretDB's InternalError (code 1) there.
	var se mongo.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("Update() to a taken address error = %v (%T), want one wrapping a mongo.ServerError", err, err)
	}
	if !mongo.IsDuplicateKeyError(err) && !se.HasErrorCode(1) {
		t.Fatalf("Update() to a taken address error codes = %v, want a duplicate key error or FerretDB's code 1", se.ErrorCodes())
	}
}

// beanieUser inserts a document as fastapi-users' Beanie backend writes it:
// no email_key, and fields this package does not know.
func beanieUser(t *testing.T, coll *mongo.Collection, email string) bson.ObjectID {
	t.Helper()
	id := bson.NewObjectID()
	_, err := coll.InsertOne(t.Context(), bson.D{
		{Key: "_id", Value: id},
		{Key: "email", Value: email},
		{Key: "hashed_password", Value: "$2b$12$hash"},
		{Key: "is_active", Value: true},
		{Key: "is_superuser", Value: false},
		{Key: "is_verified", Value: true},
		{Key: "first_name", Value: "Lancelot"},
		{Key: "oauth_accounts", Value: bson.A{bson.D{{Key: "oauth_name", Value: "google"}, {Key: "account_id", Value: "g-1"}}}},
	})
	if err != nil {
		t.Fatalf("InsertOne(Beanie user %q) error = %v, want nil", email, err)
	}
	return id
}

func TestEnsureIndexesBackfillsBeanieUsers(t *testing.T) {
	ctx := t.Context()
	coll := mongotest.Database(t).Collection("users")
	id := beanieUser(t, coll, "Sir.Lancelot@Camelot.bt")
	beanieUser(t, coll, "galahad@camelot.bt")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "email", Value: 42}}); err != nil {
		t.Fatalf("InsertOne(email 42) error = %v, want nil", err)
	}

	s := mongostore.New[storetest.Fields](coll)
	if _, err := s.GetByEmail(ctx, "sir.lancelot@camelot.bt"); !errors.Is(err, ginusers.ErrUserNotFound) {
		t.Fatalf("GetByEmail() before EnsureIndexes error = %v, want one wrapping %v", err, ginusers.ErrUserNotFound)
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("EnsureIndexes() error = %v, want nil", err)
	}
	u, err := s.GetByEmail(ctx, "sir.lancelot@camelot.bt")
	if err != nil {
		t.Fatalf("GetByEmail() after EnsureIndexes error = %v, want nil", err)
	}
	want := &ginusers.User[storetest.Fields]{
		ID: id.Hex(), Email: "Sir.Lancelot@Camelot.bt", HashedPassword: "$2b$12$hash",
		Active: true, Verified: true, Fields: storetest.Fields{FirstName: ptr("Lancelot")},
	}
	if u.ID != want.ID || u.Email != want.Email || u.HashedPassword != want.HashedPassword ||
		u.Active != want.Active || u.Superuser || u.Verified != want.Verified ||
		u.Fields.FirstName == nil || *u.Fields.FirstName != "Lancelot" || u.Fields.LastName != nil || u.Fields.Age != 0 {
		t.Fatalf("GetByEmail() = %+v, want %+v", u, want)
	}

	// The backfilled key is unique like any other.
	err = s.Create(ctx, &ginusers.User[storetest.Fields]{Email: "SIR.LANCELOT@camelot.bt"})
	if !errors.Is(err, ginusers.ErrUserExists) {
		t.Fatalf("Create() of a backfilled address error = %v, want one wrapping %v", err, ginusers.ErrUserExists)
	}

	// Update keeps the fields it does not know.
	if _, err := s.Update(ctx, u.ID, ginusers.UserChange[storetest.Fields]{Verified: ptr(false), FieldNames: []string{"FirstName", "LastName", "Age"}}, ginusers.UserCondition{}); err != nil {
		t.Fatalf("Update() error = %v, want nil", err)
	}
	m := rawDoc(t, coll, u.ID)
	if _, ok := m["oauth_accounts"]; !ok {
		t.Fatalf("stored keys after Update = %v, want oauth_accounts kept", keys(m))
	}

	// Programs that write no email_key do not collide with each other.
	beanieUser(t, coll, "bors@camelot.bt")
	beanieUser(t, coll, "lamorak@camelot.bt")
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("second EnsureIndexes() error = %v, want nil", err)
	}
	if _, err := s.GetByEmail(ctx, "LAMORAK@camelot.bt"); err != nil {
		t.Fatalf("GetByEmail() of a user backfilled by a second EnsureIndexes error = %v, want nil", err)
	}
}

func TestEnsureIndexesBackfillsManyUsers(t *testing.T) {
	ctx := t.Context()
	coll := mongotest.Database(t).Collection("users")
	const n = 35 // several batches of 10 and a partial one
	docs := make([]any, n)
	for i := range docs {
		docs[i] = bson.D{{Key: "email", Value: "Knight" + string(rune('a'+i%26)) + bson.NewObjectID().Hex() + "@camelot.bt"}}
	}
	docs = append(docs, bson.D{{Key: "email", Value: 42}}, bson.D{{Key: "name", Value: "no email"}})
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatalf("InsertMany() error = %v, want nil", err)
	}
	s := mongostore.New[storetest.Fields](coll, mongostore.WithBackfillBatch(10))
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("EnsureIndexes() error = %v, want nil", err)
	}
	left, err := coll.CountDocuments(ctx, bson.D{{Key: "email_key", Value: bson.D{{Key: "$exists", Value: false}}}})
	if err != nil {
		t.Fatalf("CountDocuments() error = %v, want nil", err)
	}
	if left != 2 {
		t.Fatalf("documents without email_key after EnsureIndexes = %d, want 2 (those without a string email)", left)
	}
}

func TestEnsureIndexesRefusesDuplicates(t *testing.T) {
	ctx := t.Context()
	coll := mongotest.Database(t).Collection("users")
	beanieUser(t, coll, "Tristan@Camelot.bt")
	beanieUser(t, coll, "tristan@camelot.bt")
	s := mongostore.New[storetest.Fields](coll)
	err := s.EnsureIndexes(ctx)
	t.Logf("EnsureIndexes() error = %v", err)
	if !errors.Is(err, ginusers.ErrUserExists) {
		t.Fatalf("EnsureIndexes() over two users with one address error = %v, want one wrapping %v", err, ginusers.ErrUserExists)
	}

	// Once the index exists, the backfill itself meets the duplicate.
	s, coll = newStore(t)
	if err := s.Create(ctx, &ginusers.User[storetest.Fields]{Email: "kay@camelot.bt"}); err != nil {
		t.Fatalf("Create() error = %v, want nil", err)
	}
	beanieUser(t, coll, "KAY@camelot.bt")
	err = s.EnsureIndexes(ctx)
	t.Logf("EnsureIndexes() error = %v", err)
	if !errors.Is(err, ginusers.ErrUserExists) {
		t.Fatalf("EnsureIndexes() with a new user sharing an address error = %v, want one wrapping %v", err, ginusers.ErrUserExists)
	}
}

func TestEnsureIndexesTwice(t *testing.T) {
	s, coll := newStore(t)
	ctx := t.Context()
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("second EnsureIndexes() error = %v, want nil", err)
	}
	cur, err := coll.Indexes().List(ctx)
	if err != nil {
		t.Fatalf("Indexes().List() error = %v, want nil", err)
	}
	var specs []bson.M
	if err := cur.All(ctx, &specs); err != nil {
		t.Fatalf("cursor.All() error = %v, want nil", err)
	}
	var found bool
	for _, spec := range specs {
		if spec["name"] != "email_key_unique" {
			continue
		}
		found = true
		if spec["unique"] != true {
			t.Fatalf("index email_key_unique = %v, want unique", spec)
		}
	}
	if !found {
		t.Fatalf("indexes = %v, want one named email_key_unique", specs)
	}
}

func TestOperatorLookingInput(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	u := &ginusers.User[storetest.Fields]{Email: "king.arthur@camelot.bt"}
	if err := s.Create(ctx, u); err != nil {
		t.Fatalf("Create() error = %v, want nil", err)
	}
	for _, email := range []string{`{"$ne": ""}`, `{"$gt": ""}`, `{"$regex": ".*"}`, `.*`, `/.*/`, `$where`, `king.arthur@camelot.b.`} {
		if got, err := s.GetByEmail(ctx, email); !errors.Is(err, ginusers.ErrUserNotFound) {
			t.Fatalf("GetByEmail(%q) = %+v, %v; want an error wrapping %v", email, got, err, ginusers.ErrUserNotFound)
		}
	}
	for _, id := range []string{`{"$ne": null}`, `{"$gt": ""}`, "000000000000000000000000", "ZZZZZZZZZZZZZZZZZZZZZZZZ"} {
		if got, err := s.Get(ctx, id); !errors.Is(err, ginusers.ErrUserNotFound) {
			t.Fatalf("Get(%q) = %+v, %v; want an error wrapping %v", id, got, err, ginusers.ErrUserNotFound)
		}
	}
}

func TestIDMustBeCanonical(t *testing.T) {
	s, coll := newStore(t)
	ctx := t.Context()
	const id = "abcdef0123456789abcdef01"
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		t.Fatalf("ObjectIDFromHex(%q) error = %v, want nil", id, err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: oid}, {Key: "email", Value: "dagonet@camelot.bt"}, {Key: "email_key", Value: "dagonet@camelot.bt"}}); err != nil {
		t.Fatalf("InsertOne() error = %v, want nil", err)
	}
	if u, err := s.Get(ctx, id); err != nil || u.ID != id {
		t.Fatalf("Get(%q) = %+v, %v; want the user", id, u, err)
	}
	const upper = "ABCDEF0123456789ABCDEF01"
	if _, err := s.Get(ctx, upper); !errors.Is(err, ginusers.ErrUserNotFound) {
		t.Fatalf("Get(%q) error = %v, want one wrapping %v (only the lower-case form is an ID)", upper, err, ginusers.ErrUserNotFound)
	}
	if err := s.Delete(ctx, upper, ginusers.UserCondition{}); !errors.Is(err, ginusers.ErrUserNotFound) {
		t.Fatalf("Delete(%q) error = %v, want one wrapping %v", upper, err, ginusers.ErrUserNotFound)
	}
}

// badFields cannot be stored inline.
type badFields string

func TestNewWithNonStructFields(t *testing.T) {
	coll := mongotest.Database(t).Collection("users")
	s := mongostore.New[badFields](coll)
	err := s.Create(t.Context(), &ginusers.User[badFields]{Email: "x@camelot.bt"})
	if err == nil {
		t.Fatalf("Create() with a string field type error = nil, want an error")
	}
	if _, err := s.Get(t.Context(), "000000000000000000000000"); err == nil || errors.Is(err, ginusers.ErrUserNotFound) {
		t.Fatalf("Get() with a string field type error = %v, want a configuration error", err)
	}
}

// TestEnsureIndexesRecomputesOldKeys: keys stored under the first
// release's definition (the whole address lower-cased) are recomputed once
// (D3: domains in IDNA form), so old users are found by any IDNA variant
// of their domain and the variants stay unique.
func TestEnsureIndexesRecomputesOldKeys(t *testing.T) {
	ctx := t.Context()
	coll := mongotest.Database(t).Collection("users")
	old := func(email, key string) bson.ObjectID {
		id := bson.NewObjectID()
		if _, err := coll.InsertOne(ctx, bson.D{
			{Key: "_id", Value: id}, {Key: "email", Value: email}, {Key: "email_key", Value: key},
			{Key: "hashed_password", Value: "h"}, {Key: "is_active", Value: true},
			{Key: "is_superuser", Value: false}, {Key: "is_verified", Value: true},
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := old("Alice@bücher.de", "alice@bücher.de")
	s := mongostore.New[storetest.Fields](coll)
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("EnsureIndexes() error = %v, want nil", err)
	}
	m := rawDoc(t, coll, id.Hex())
	if m["email_key"] != "alice@xn--bcher-kva.de" || m["email_key_v"] != int32(2) && m["email_key_v"] != int64(2) {
		t.Fatalf("after EnsureIndexes: email_key %v, email_key_v %v (%T); want the IDNA key and version 2", m["email_key"], m["email_key_v"], m["email_key_v"])
	}
	for _, email := range []string{"alice@XN--BCHER-KVA.DE", "ALICE@bücher.de"} {
		if u, err := s.GetByEmail(ctx, email); err != nil || u.ID != id.Hex() {
			t.Fatalf("GetByEmail(%q) = %v, %v; want the recomputed user", email, u, err)
		}
	}
	err := s.Create(ctx, &ginusers.User[storetest.Fields]{Email: "alice@xn--bcher-kva.de"})
	if !errors.Is(err, ginusers.ErrUserExists) {
		t.Fatalf("Create() of the punycode form error = %v, want one wrapping %v", err, ginusers.ErrUserExists)
	}
	// A second run finds nothing left to recompute.
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("second EnsureIndexes() error = %v, want nil", err)
	}

	// Two old users whose addresses become one under the new definition
	// are reported, not merged.
	coll2 := mongotest.Database(t).Collection("users")
	id1 := bson.NewObjectID()
	for i, d := range []bson.D{
		{{Key: "_id", Value: id1}, {Key: "email", Value: "bob@example.com"}, {Key: "email_key", Value: "bob@example.com"}},
		{{Key: "_id", Value: bson.NewObjectID()}, {Key: "email", Value: "bob@\uff45xample.com"}, {Key: "email_key", Value: "bob@\uff45xample.com"}},
	} {
		if _, err := coll2.InsertOne(ctx, d); err != nil {
			t.Fatalf("InsertOne #%d error = %v", i, err)
		}
	}
	err = mongostore.New[storetest.Fields](coll2).EnsureIndexes(ctx)
	if !errors.Is(err, ginusers.ErrUserExists) {
		t.Fatalf("EnsureIndexes() over IDNA duplicates error = %v, want one wrapping %v", err, ginusers.ErrUserExists)
	}
}

// TestEnsureIndexesMigratesTokensValidAfter: users revoked under the first
// release (tokens_valid_after) get a session epoch, so the tokens issued
// before the upgrade (which carry none) stay dead.
func TestEnsureIndexesMigratesTokensValidAfter(t *testing.T) {
	ctx := t.Context()
	coll := mongotest.Database(t).Collection("users")
	revoked, kept := bson.NewObjectID(), bson.NewObjectID()
	for _, d := range []bson.D{
		{{Key: "_id", Value: revoked}, {Key: "email", Value: "r@camelot.bt"}, {Key: "tokens_valid_after", Value: time.Now()}},
		{{Key: "_id", Value: kept}, {Key: "email", Value: "k@camelot.bt"}},
	} {
		if _, err := coll.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	s := mongostore.New[storetest.Fields](coll)
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("EnsureIndexes() error = %v", err)
	}
	r, err := s.Get(ctx, revoked.Hex())
	if err != nil || r.SessionEpoch == "" {
		t.Fatalf("Get(revoked user) = %+v, %v; want a session epoch", r, err)
	}
	if _, ok := rawDoc(t, coll, revoked.Hex())["tokens_valid_after"]; ok {
		t.Fatal("tokens_valid_after is still stored after the migration")
	}
	if k, err := s.Get(ctx, kept.Hex()); err != nil || k.SessionEpoch != "" {
		t.Fatalf("Get(never revoked user) = %+v, %v; want no epoch", k, err)
	}
}
