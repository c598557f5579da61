package mongostore_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"os"
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

// newTokenStore returns a token store on a fresh collection, with its
// indexes.
func newTokenStore(t *testing.T) (*mongostore.TokenStore, *mongo.Collection) {
	t.Helper()
	coll := mongotest.Database(t).Collection("access_tokens")
	s := mongostore.NewTokenStore(coll)
	if err := s.EnsureIndexes(t.Context()); err != nil {
		t.Fatalf("EnsureIndexes() error = %v, want nil", err)
	}
	return s, coll
}

func TestTokenStore(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) ginusers.AccessTokenStore {
		s, _ := newTokenStore(t)
		return s
	})
}

// embeddedServer reports whether the tests run on the embedded FerretDB.
func embeddedServer() bool { return os.Getenv("MONGODB_URI") == "" }

func listIndexes(t *testing.T, coll *mongo.Collection) map[string]bson.M {
	t.Helper()
	cur, err := coll.Indexes().List(t.Context())
	if err != nil {
		t.Fatalf("Indexes().List() error = %v, want nil", err)
	}
	var specs []bson.M
	if err := cur.All(t.Context(), &specs); err != nil {
		t.Fatalf("cursor.All() error = %v, want nil", err)
	}
	byName := map[string]bson.M{}
	for _, spec := range specs {
		name, _ := spec["name"].(string)
		byName[name] = spec
	}
	return byName
}

// asInt returns a number of an index spec as an int64.
func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case float64:
		return int64(v), v == float64(int64(v))
	}
	return 0, false
}

// indexKey returns the single key of an index spec and its direction.
func indexKey(spec bson.M) (string, int64) {
	var d bson.D
	switch k := spec["key"].(type) {
	case bson.D:
		d = k
	case bson.M:
		for name, v := range k {
			d = append(d, bson.E{Key: name, Value: v})
		}
	}
	if len(d) != 1 {
		return "", 0
	}
	dir, _ := asInt(d[0].Value)
	return d[0].Key, dir
}

func checkTokenIndexes(t *testing.T, s *mongostore.TokenStore, coll *mongo.Collection) map[string]bson.M {
	t.Helper()
	idx := listIndexes(t, coll)
	for _, want := range []struct {
		name, key string
		unique    bool
	}{
		{"token_digest_unique", "token_digest", true},
		{"user_id", "user_id", false},
	} {
		spec, ok := idx[want.name]
		if !ok {
			t.Fatalf("indexes = %v, want one named %s", idx, want.name)
		}
		if key, dir := indexKey(spec); key != want.key || dir != 1 {
			t.Fatalf("index %s keys = %v, want {%s: 1}", want.name, spec["key"], want.key)
		}
		if unique := spec["unique"] == true; unique != want.unique {
			t.Fatalf("index %s unique = %v, want %v (spec %v)", want.name, unique, want.unique, spec)
		}
	}
	ttl, hasTTL := idx["expires_at_ttl"]
	if hasTTL != s.HasTTLIndex() {
		t.Fatalf("HasTTLIndex() = %v, but index expires_at_ttl listed = %v (indexes %v)", s.HasTTLIndex(), hasTTL, idx)
	}
	if hasTTL {
		if key, dir := indexKey(ttl); key != "expires_at" || dir != 1 {
			t.Fatalf("index expires_at_ttl keys = %v, want {expires_at: 1}", ttl["key"])
		}
		if secs, ok := asInt(ttl["expireAfterSeconds"]); !ok || secs != 0 {
			t.Fatalf("index expires_at_ttl expireAfterSeconds = %#v, want 0 (spec %v)", ttl["expireAfterSeconds"], ttl)
		}
	}
	if embeddedServer() && s.HasTTLIndex() {
		t.Fatalf("HasTTLIndex() = true on the embedded FerretDB, which has no TTL indexes")
	}
	return idx
}

func TestTokenStoreIndexes(t *testing.T) {
	s, coll := newTokenStore(t)
	first := checkTokenIndexes(t, s, coll)

	// EnsureIndexes is idempotent.
	ttl := s.HasTTLIndex()
	for range 2 {
		if err := s.EnsureIndexes(t.Context()); err != nil {
			t.Fatalf("repeated EnsureIndexes() error = %v, want nil", err)
		}
	}
	if s.HasTTLIndex() != ttl {
		t.Fatalf("HasTTLIndex() = %v after repeated EnsureIndexes, want %v as after the first", s.HasTTLIndex(), ttl)
	}
	again := checkTokenIndexes(t, s, coll)
	if got, want := slices.Sorted(maps.Keys(again)), slices.Sorted(maps.Keys(first)); !slices.Equal(got, want) {
		t.Fatalf("indexes after repeated EnsureIndexes = %v, want %v", got, want)
	}

	// A second store on the same collection (another process) sees the same.
	other := mongostore.NewTokenStore(coll)
	if other.HasTTLIndex() {
		t.Fatalf("HasTTLIndex() before EnsureIndexes = true, want false")
	}
	if err := other.EnsureIndexes(t.Context()); err != nil {
		t.Fatalf("EnsureIndexes() of a second store error = %v, want nil", err)
	}
	if other.HasTTLIndex() != ttl {
		t.Fatalf("HasTTLIndex() of a second store = %v, want %v", other.HasTTLIndex(), ttl)
	}
}

func TestTokenDocumentLayout(t *testing.T) {
	s, coll := newTokenStore(t)
	ctx := t.Context()
	const token = "c2VjcmV0LXRva2VuLXRoYXQtbXVzdC1uZXZlci1iZS1zdG9yZWQ"
	sum := sha256.Sum256([]byte(token))
	created := time.Now().UTC().Truncate(time.Millisecond)
	tok := ginusers.AccessToken{
		Digest:    hex.EncodeToString(sum[:]),
		UserID:    "0123456789abcdef01234567",
		CreatedAt: created,
		ExpiresAt: created.Add(time.Hour),
	}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken() error = %v, want nil", err)
	}

	raw, err := coll.FindOne(ctx, bson.D{}).Raw()
	if err != nil {
		t.Fatalf("FindOne() error = %v, want nil", err)
	}
	if bytes.Contains(raw, []byte(token)) {
		t.Fatalf("stored document %v contains the token itself, want only its digest", raw)
	}
	var m bson.M
	if err := bson.Unmarshal(raw, &m); err != nil {
		t.Fatalf("Unmarshal() error = %v, want nil", err)
	}
	want := bson.M{
		"_id":          m["_id"],
		"token_digest": tok.Digest,
		"user_id":      tok.UserID,
		"created_at":   bson.NewDateTimeFromTime(tok.CreatedAt),
		"expires_at":   bson.NewDateTimeFromTime(tok.ExpiresAt),
	}
	if got, wantKeys := keys(m), keys(want); !slices.Equal(got, wantKeys) {
		t.Fatalf("stored document keys = %v, want %v", got, wantKeys)
	}
	if _, ok := m["_id"].(bson.ObjectID); !ok {
		t.Fatalf("stored _id = %#v (%T), want an ObjectID", m["_id"], m["_id"])
	}
	for k, w := range want {
		if m[k] != w {
			t.Fatalf("stored %s = %#v (%T), want %#v (%T)", k, m[k], m[k], w, w)
		}
	}
	if n, err := coll.CountDocuments(ctx, bson.D{}); err != nil || n != 1 {
		t.Fatalf("CountDocuments() = %d, %v; want 1, nil", n, err)
	}
}

func TestTokenCreateDuplicateKeepsDriverError(t *testing.T) {
	s, _ := newTokenStore(t)
	ctx := t.Context()
	now := time.Now().UTC()
	tok := ginusers.AccessToken{Digest: "ab", UserID: "u", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken() error = %v, want nil", err)
	}
	err := s.CreateToken(ctx, tok)
	if !errors.Is(err, ginusers.ErrTokenExists) {
		t.Fatalf("CreateToken() of a stored digest error = %v, want one wrapping %v", err, ginusers.ErrTokenExists)
	}
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("CreateToken() of a stored digest error = %v, want one that mongo.IsDuplicateKeyError reports", err)
	}
}

func TestTokenDeleteExpiredPurges(t *testing.T) {
	s, coll := newTokenStore(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	toks := []ginusers.AccessToken{
		{Digest: "expired-1", UserID: "u1", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
		{Digest: "expired-2", UserID: "u2", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Millisecond)},
		{Digest: "expires-at-now", UserID: "u1", CreatedAt: now, ExpiresAt: now}, // not before now: kept
		{Digest: "live-2", UserID: "u2", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	}
	for _, tok := range toks {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%q) error = %v, want nil", tok.Digest, err)
		}
	}
	ttl := s.HasTTLIndex()
	if !ttl {
		// Nothing expires by itself: expired tokens are still there.
		for _, d := range []string{"expired-1", "expired-2"} {
			if _, err := s.GetToken(ctx, d); err != nil {
				t.Fatalf("GetToken(%q) of an expired, unpurged token error = %v, want nil", d, err)
			}
		}
	}
	n, err := s.DeleteExpiredTokens(ctx, now)
	if err != nil {
		t.Fatalf("DeleteExpiredTokens() error = %v, want nil", err)
	}
	// With a TTL index the server may have removed some already.
	if n != 2 && (!ttl || n > 2) {
		t.Fatalf("DeleteExpiredTokens() = %d, want 2", n)
	}
	for _, d := range []string{"expired-1", "expired-2"} {
		if _, err := s.GetToken(ctx, d); !errors.Is(err, ginusers.ErrTokenNotFound) {
			t.Fatalf("GetToken(%q) after DeleteExpiredTokens error = %v, want one wrapping %v", d, err, ginusers.ErrTokenNotFound)
		}
	}
	if _, err := s.GetToken(ctx, "live-2"); err != nil {
		t.Fatalf("GetToken(%q) of a live token after DeleteExpiredTokens error = %v, want nil", "live-2", err)
	}
	if !ttl {
		// The token expiring at now itself did not expire before now.
		left, err := coll.CountDocuments(ctx, bson.D{})
		if err != nil || left != 2 {
			t.Fatalf("CountDocuments() after DeleteExpiredTokens = %d, %v; want 2 (the token expiring at now and the live one), nil", left, err)
		}
	}
	if n, err := s.DeleteExpiredTokens(ctx, now); err != nil || n != 0 {
		t.Fatalf("second DeleteExpiredTokens() = %d, %v; want 0, nil", n, err)
	}
}
