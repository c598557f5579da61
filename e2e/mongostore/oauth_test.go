package mongostore_test

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

func TestStoreOAuth(t *testing.T) {
	storetest.RunOAuth(t, func(t *testing.T) ginusers.Store[storetest.Fields] {
		s, _ := newStore(t)
		return s
	})
}

// TestOAuthLayout checks that accounts are stored as fastapi-users' Beanie
// adapter stores them, and that accounts it wrote (an int32 expiry, null
// refresh token, plaintext tokens) read back.
func TestOAuthLayout(t *testing.T) {
	s, coll := newStore(t)
	ctx := t.Context()
	exp := time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)
	u := &ginusers.User[storetest.Fields]{
		Email: "percival@camelot.bt", HashedPassword: "hash", Active: true,
		OAuthAccounts: []ginusers.OAuthAccount{{
			OAuthName: "google", AccountID: "108", AccountEmail: "percival@gmail.example",
			AccessToken: "gu1.sealed", ExpiresAt: exp,
		}},
	}
	if err := s.Create(ctx, u); err != nil {
		t.Fatalf("Create() error = %v, want nil", err)
	}
	doc := rawDoc(t, coll, u.ID)
	accs, ok := doc["oauth_accounts"].(bson.A)
	if !ok || len(accs) != 1 {
		t.Fatalf("stored oauth_accounts = %#v, want an array of one", doc["oauth_accounts"])
	}
	acc := asMap(accs[0])
	want := map[string]any{
		"oauth_name": "google", "account_id": "108", "account_email": "percival@gmail.example",
		"access_token": "gu1.sealed", "expires_at": exp.Unix(), "refresh_token": nil,
	}
	for k, v := range want {
		if acc[k] != v {
			t.Fatalf("stored oauth_accounts[0].%s = %#v, want %#v (Beanie's layout)", k, acc[k], v)
		}
	}
	if id, ok := acc["id"].(bson.ObjectID); !ok || id.Hex() != u.OAuthAccounts[0].ID {
		t.Fatalf("stored oauth_accounts[0].id = %#v, want the ObjectID %s", acc["id"], u.OAuthAccounts[0].ID)
	}

	// A user as fastapi-users wrote it: no email_key yet, an int32 expiry,
	// a null refresh token, tokens in plaintext.
	entry := bson.ObjectID{1, 2, 3}
	_, err := coll.InsertOne(ctx, bson.D{
		{Key: "_id", Value: bson.NewObjectID()}, {Key: "email", Value: "Gawain@Camelot.bt"},
		{Key: "hashed_password", Value: "hash"}, {Key: "is_active", Value: true},
		{Key: "is_superuser", Value: false}, {Key: "is_verified", Value: true},
		{Key: "oauth_accounts", Value: bson.A{bson.D{
			{Key: "id", Value: entry}, {Key: "oauth_name", Value: "github"},
			{Key: "access_token", Value: "gho_plaintext"}, {Key: "account_id", Value: "4242"},
			{Key: "account_email", Value: "gawain@github.example"},
			{Key: "expires_at", Value: int32(1700000000)}, {Key: "refresh_token", Value: nil},
		}}},
	})
	if err != nil {
		t.Fatalf("InsertOne() error = %v", err)
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("EnsureIndexes() error = %v, want nil", err)
	}
	got, err := s.GetByOAuthAccount(ctx, "github", "4242")
	if err != nil {
		t.Fatalf("GetByOAuthAccount() of a fastapi-users account error = %v, want nil", err)
	}
	wantAcc := ginusers.OAuthAccount{
		ID: entry.Hex(), OAuthName: "github", AccountID: "4242", AccountEmail: "gawain@github.example",
		AccessToken: "gho_plaintext", ExpiresAt: time.Unix(1700000000, 0).UTC(),
	}
	if len(got.OAuthAccounts) != 1 || got.OAuthAccounts[0] != wantAcc {
		t.Fatalf("GetByOAuthAccount().OAuthAccounts = %+v, want [%+v]", got.OAuthAccounts, wantAcc)
	}
	upd := wantAcc
	upd.AccessToken, upd.RefreshToken, upd.ExpiresAt = "gu1.sealed-now", "gu1.refresh", time.Time{}
	if _, err := s.UpdateOAuthAccount(ctx, got.ID, upd); err != nil {
		t.Fatalf("UpdateOAuthAccount() error = %v, want nil", err)
	}
	acc = asMap(rawDoc(t, coll, got.ID)["oauth_accounts"].(bson.A)[0])
	if acc["access_token"] != "gu1.sealed-now" || acc["refresh_token"] != "gu1.refresh" || acc["expires_at"] != nil || acc["id"] != entry {
		t.Fatalf("stored entry after UpdateOAuthAccount() = %v, want the new tokens, a null expiry and the same id", acc)
	}
}

// asMap returns a decoded subdocument as a map.
func asMap(v any) map[string]any {
	out := map[string]any{}
	switch d := v.(type) {
	case bson.D:
		for _, e := range d {
			out[e.Key] = e.Value
		}
	case bson.M:
		for k, e := range d {
			out[k] = e
		}
	}
	return out
}
