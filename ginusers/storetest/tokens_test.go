package storetest_test

import (
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

func TestMemTokenStore(t *testing.T) {
	storetest.RunTokens(t, func(*testing.T) ginusers.AccessTokenStore {
		return storetest.NewMemTokenStore()
	})
}

func TestMemTokenStoreZeroValue(t *testing.T) {
	storetest.RunTokens(t, func(*testing.T) ginusers.AccessTokenStore {
		return new(storetest.MemTokenStore)
	})
}

func TestMemTokenStoreDeleteExpired(t *testing.T) {
	ctx := t.Context()
	s := storetest.NewMemTokenStore()
	now := time.Date(2024, time.May, 17, 10, 30, 15, 123_000_000, time.UTC)
	toks := []ginusers.AccessToken{
		{Digest: "expired", UserID: "u1", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
		{Digest: "just-expired", UserID: "u2", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Millisecond)},
		{Digest: "expires-now", UserID: "u1", CreatedAt: now.Add(-time.Hour), ExpiresAt: now},
		{Digest: "live", UserID: "u2", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	}
	for _, tok := range toks {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%q) error = %v, want nil", tok.Digest, err)
		}
	}
	// Expired tokens are returned until purged.
	if got, err := s.GetToken(ctx, "expired"); err != nil || !got.ExpiresAt.Equal(toks[0].ExpiresAt) {
		t.Fatalf("GetToken(expired) = %+v, %v; want the expired token", got, err)
	}
	n, err := s.DeleteExpiredTokens(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredTokens() = %d, %v; want 2, nil", n, err)
	}
	if got := s.Len(); got != 2 {
		t.Fatalf("Len() after DeleteExpiredTokens = %d, want 2 (the token expiring at now and the live one)", got)
	}
}

func TestMemTokenStoreTruncatesTimes(t *testing.T) {
	ctx := t.Context()
	s := storetest.NewMemTokenStore()
	at := time.Date(2024, time.May, 17, 12, 30, 15, 123_456_789, time.FixedZone("CEST", 2*60*60))
	if err := s.CreateToken(ctx, ginusers.AccessToken{Digest: "d", UserID: "u", CreatedAt: at, ExpiresAt: at}); err != nil {
		t.Fatalf("CreateToken() error = %v, want nil", err)
	}
	got, err := s.GetToken(ctx, "d")
	if err != nil {
		t.Fatalf("GetToken() error = %v, want nil", err)
	}
	want := time.Date(2024, time.May, 17, 10, 30, 15, 123_000_000, time.UTC)
	if got.CreatedAt != want || got.ExpiresAt != want {
		t.Fatalf("GetToken() times = %v, %v; want %v (milliseconds, UTC)", got.CreatedAt, got.ExpiresAt, want)
	}
}
