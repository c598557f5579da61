package ginusers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

var tokenKey = []byte("0123456789abcdef0123456789abcdef")

type oauthHarness struct {
	m          *ginusers.Manager[Fields]
	store      *storetest.MemStore[Fields]
	registered []string
	updated    []ginusers.Changes
	now        time.Time
}

func newOAuthManager(t *testing.T, opts ...ginusers.Option) *oauthHarness {
	t.Helper()
	h := &oauthHarness{store: storetest.NewMemStore[Fields](), now: time.Now()}
	base := []ginusers.Option{
		ginusers.WithSecret(testSecret),
		ginusers.WithLogger(discardLogger),
		ginusers.WithPasswordHasher(storetest.NewCountingHasher()),
		ginusers.WithClock(func() time.Time { return h.now }),
		ginusers.OnAfterRegister(func(_ context.Context, u *User) error {
			h.registered = append(h.registered, u.Email)
			return nil
		}),
		ginusers.OnAfterUpdate(func(_ context.Context, _ *User, ch ginusers.Changes) error {
			h.updated = append(h.updated, ch)
			return nil
		}),
	}
	m, err := ginusers.New[Fields](h.store, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	h.m = m
	return h
}

func identity(sub, email string, verified bool) ginusers.OAuthIdentity {
	return ginusers.OAuthIdentity{
		OAuthName: "google", AccountID: sub, Email: email, EmailVerified: verified,
		AccessToken: "access-" + sub, RefreshToken: "refresh-" + sub, ExpiresAt: time.Unix(2000000000, 0),
	}
}

func (h *oauthHarness) register(t *testing.T, email string, verified bool) *User {
	t.Helper()
	u, err := h.m.Create(t.Context(), ginusers.UserCreate[Fields]{Email: email, Password: "a long password", Verified: &verified})
	if err != nil {
		t.Fatalf("Create(%q) error = %v", email, err)
	}
	return u
}

func TestOAuthCallbackDecisions(t *testing.T) {
	tests := []struct {
		name         string
		existing     string // e-mail of a password user, if any
		existingVer  bool
		policy       ginusers.OAuthPolicy
		id           ginusers.OAuthIdentity
		wantErr      error
		wantCreated  bool
		wantVerified bool
		wantLinkedTo string // e-mail of the user who ends up with the account
	}{
		{name: "a new account creates an unverified user", id: identity("1", "new@example.com", true),
			wantCreated: true, wantLinkedTo: "new@example.com"},
		{name: "verified by default needs the provider to vouch for the address", id: identity("1", "new@example.com", true),
			policy: ginusers.OAuthPolicy{VerifiedByDefault: true}, wantCreated: true, wantVerified: true, wantLinkedTo: "new@example.com"},
		{name: "an address the provider does not vouch for makes no user (pre-account hijacking)", id: identity("1", "new@example.com", false),
			policy: ginusers.OAuthPolicy{VerifiedByDefault: true}, wantErr: ginusers.ErrOAuthNoEmail},
		{name: "an existing address is refused without association by e-mail", existing: "old@example.com", existingVer: true,
			id: identity("1", "OLD@example.com", true), wantErr: ginusers.ErrUserExists},
		{name: "association by e-mail links a verified address to a verified user", existing: "old@example.com", existingVer: true,
			policy: ginusers.OAuthPolicy{AssociateByEmail: true}, id: identity("1", "OLD@example.com", true), wantVerified: true, wantLinkedTo: "old@example.com"},
		{name: "association by e-mail refuses an address the provider did not verify", existing: "old@example.com", existingVer: true,
			policy: ginusers.OAuthPolicy{AssociateByEmail: true}, id: identity("1", "old@example.com", false), wantErr: ginusers.ErrUserExists},
		{name: "association by e-mail refuses a user who never verified the address (pre-hijacking)", existing: "old@example.com",
			policy: ginusers.OAuthPolicy{AssociateByEmail: true}, id: identity("1", "old@example.com", true), wantErr: ginusers.ErrUserExists},
		{name: "no e-mail address is refused", id: identity("1", "", true), wantErr: ginusers.ErrOAuthNoEmail},
		{name: "an invalid e-mail address is refused", id: identity("1", "not an address", true), wantErr: ginusers.ErrOAuthNoEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newOAuthManager(t)
			if tt.existing != "" {
				h.register(t, tt.existing, tt.existingVer)
				h.registered = nil
			}
			u, created, err := h.m.OAuthCallback(t.Context(), tt.id, tt.policy)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("OAuthCallback() error = %v, want %v", err, tt.wantErr)
				}
				if _, err := h.store.GetByOAuthAccount(t.Context(), "google", "1"); !errors.Is(err, ginusers.ErrUserNotFound) {
					t.Fatalf("after a refused OAuthCallback(), the account is linked (err %v)", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("OAuthCallback() error = %v, want nil", err)
			}
			if created != tt.wantCreated || u.Verified != tt.wantVerified {
				t.Fatalf("OAuthCallback() created %v, verified %v; want %v, %v", created, u.Verified, tt.wantCreated, tt.wantVerified)
			}
			owner, err := h.store.GetByOAuthAccount(t.Context(), "google", "1")
			if err != nil || owner.Email != tt.wantLinkedTo || owner.ID != u.ID {
				t.Fatalf("GetByOAuthAccount() = %v, %v; want %q", owner, err, tt.wantLinkedTo)
			}
			if tt.wantCreated != (len(h.registered) == 1) {
				t.Fatalf("after-register hooks ran for %v, want them only for a new user", h.registered)
			}
			if !tt.wantCreated && (len(h.updated) != 1 || !h.updated[0].Has("oauth_accounts")) {
				t.Fatalf("after-update hooks = %v, want one with oauth_accounts for an association", h.updated)
			}
			// The returning user is found by the account, not by address.
			again := tt.id
			again.Email, again.AccessToken = "changed@elsewhere.example", "second"
			u2, created, err := h.m.OAuthCallback(t.Context(), again, ginusers.OAuthPolicy{})
			if err != nil || created || u2.ID != u.ID {
				t.Fatalf("OAuthCallback() of a returning account = %v, created %v, %v; want the same user", u2, created, err)
			}
			if u2.Email != tt.wantLinkedTo || u2.OAuthAccounts[0].AccountEmail != "changed@elsewhere.example" {
				t.Fatalf("returning sign-in: user e-mail %q, account e-mail %q; want the user's own kept and the account's updated", u2.Email, u2.OAuthAccounts[0].AccountEmail)
			}
		})
	}
}

func TestOAuthAssociate(t *testing.T) {
	h := newOAuthManager(t)
	alice := h.register(t, "alice@example.com", true)
	bob := h.register(t, "bob@example.com", true)
	if _, err := h.m.OAuthAssociate(t.Context(), alice, identity("a", "alice@gmail.example", false)); err != nil {
		t.Fatalf("OAuthAssociate() error = %v, want nil", err)
	}
	if len(h.updated) != 1 || !h.updated[0].Has("oauth_accounts") {
		t.Fatalf("after-update hooks = %v, want one naming oauth_accounts", h.updated)
	}
	_, err := h.m.OAuthAssociate(t.Context(), bob, identity("a", "bob@gmail.example", true))
	if !errors.Is(err, ginusers.ErrOAuthAccountTaken) {
		t.Fatalf("OAuthAssociate() of alice's account to bob error = %v, want ErrOAuthAccountTaken", err)
	}
	if got, _ := h.m.Get(t.Context(), bob.ID); len(got.OAuthAccounts) != 0 {
		t.Fatalf("bob has accounts %+v after a refused association", got.OAuthAccounts)
	}
	again, err := h.m.OAuthAssociate(t.Context(), alice, identity("a", "alice2@gmail.example", false))
	if err != nil || len(again.OAuthAccounts) != 1 || again.OAuthAccounts[0].AccountEmail != "alice2@gmail.example" {
		t.Fatalf("OAuthAssociate() again = %+v, %v; want the one account, updated", again, err)
	}
	if err := h.m.LogoutAll(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	stale := *bob
	stale.SessionEpoch = "before logout-all"
	if _, err := h.m.OAuthAssociate(t.Context(), &stale, identity("b", "bob@gmail.example", true)); !errors.Is(err, ginusers.ErrSessionEnded) {
		t.Fatalf("OAuthAssociate() for an ended session error = %v, want ErrSessionEnded", err)
	}
}

func TestOAuthTokensSealed(t *testing.T) {
	h := newOAuthManager(t, ginusers.WithOAuthTokenKey(tokenKey))
	u, _, err := h.m.OAuthCallback(t.Context(), identity("1", "new@example.com", true), ginusers.OAuthPolicy{})
	if err != nil {
		t.Fatalf("OAuthCallback() error = %v", err)
	}
	stored, _ := h.store.Get(t.Context(), u.ID)
	acc := stored.OAuthAccounts[0]
	if !strings.HasPrefix(acc.AccessToken, "gu1.") || strings.Contains(acc.AccessToken, "access-1") || strings.Contains(acc.RefreshToken, "refresh-1") {
		t.Fatalf("stored tokens %q, %q; want them sealed", acc.AccessToken, acc.RefreshToken)
	}
	tok, err := h.m.OAuthTokens(stored, "google", "1")
	if err != nil || tok.AccessToken != "access-1" || tok.RefreshToken != "refresh-1" {
		t.Fatalf("OAuthTokens() = %+v, %v; want the provider's tokens", tok, err)
	}
	// A sealed token moved to another user, account or field does not open.
	moved := *stored
	moved.ID = "someone else"
	if _, err := h.m.OAuthTokens(&moved, "google", "1"); err == nil {
		t.Fatalf("OAuthTokens() of a token moved to another user: nil error, want one")
	}
	swapped := *stored
	swapped.OAuthAccounts = []ginusers.OAuthAccount{acc}
	swapped.OAuthAccounts[0].AccessToken, swapped.OAuthAccounts[0].RefreshToken = acc.RefreshToken, acc.AccessToken
	if _, err := h.m.OAuthTokens(&swapped, "google", "1"); err == nil {
		t.Fatalf("OAuthTokens() of swapped access and refresh tokens: nil error, want one")
	}
	// Another key (rotation: the old one is still given) opens it; a
	// Manager without the key does not.
	other := []byte("fedcba9876543210fedcba9876543210")
	m2, err := ginusers.New[Fields](h.store, ginusers.WithSecret(testSecret), ginusers.WithOAuthTokenKey(other, tokenKey))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := m2.OAuthTokens(stored, "google", "1"); err != nil || tok.AccessToken != "access-1" {
		t.Fatalf("OAuthTokens() with the old key among the previous ones = %+v, %v; want the tokens", tok, err)
	}
	m3, _ := ginusers.New[Fields](h.store, ginusers.WithSecret(testSecret), ginusers.WithOAuthTokenKey(other))
	if _, err := m3.OAuthTokens(stored, "google", "1"); err == nil {
		t.Fatalf("OAuthTokens() without the sealing key: nil error, want one")
	}
	if _, err := h.m.OAuthTokens(stored, "github", "1"); !errors.Is(err, ginusers.ErrOAuthAccountNotFound) {
		t.Fatalf("OAuthTokens() of an unlinked account error = %v, want ErrOAuthAccountNotFound", err)
	}
}

func TestOAuthPlaintextTokensMigrated(t *testing.T) {
	h := newOAuthManager(t, ginusers.WithOAuthTokenKey(tokenKey))
	// A user as fastapi-users stored them: plaintext tokens.
	u := &User{Email: "old@example.com", Active: true, OAuthAccounts: []ginusers.OAuthAccount{{
		OAuthName: "google", AccountID: "9", AccountEmail: "old@gmail.example", AccessToken: "ya29.plain", RefreshToken: "1//plain",
	}}}
	if err := h.store.Create(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if tok, err := h.m.OAuthTokens(u, "google", "9"); err != nil || tok.AccessToken != "ya29.plain" || tok.RefreshToken != "1//plain" {
		t.Fatalf("OAuthTokens() of plaintext tokens = %+v, %v; want them as stored", tok, err)
	}
	got, _, err := h.m.OAuthCallback(t.Context(), identity("9", "old@gmail.example", true), ginusers.OAuthPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if a := got.OAuthAccounts[0]; !strings.HasPrefix(a.AccessToken, "gu1.") || !strings.HasPrefix(a.RefreshToken, "gu1.") {
		t.Fatalf("after the next sign-in the stored tokens are %q, %q; want them sealed", a.AccessToken, a.RefreshToken)
	}
	// Without a key, no token is stored, and plaintext ones are dropped.
	h2 := newOAuthManager(t)
	u2 := &User{Email: "old2@example.com", Active: true, OAuthAccounts: []ginusers.OAuthAccount{{OAuthName: "google", AccountID: "9", AccessToken: "ya29.plain"}}}
	if err := h2.store.Create(t.Context(), u2); err != nil {
		t.Fatal(err)
	}
	got, _, err = h2.m.OAuthCallback(t.Context(), identity("9", "old2@example.com", true), ginusers.OAuthPolicy{})
	if err != nil || got.OAuthAccounts[0].AccessToken != "" || got.OAuthAccounts[0].RefreshToken != "" {
		t.Fatalf("without a key, stored tokens after sign-in = %+v, %v; want none", got.OAuthAccounts, err)
	}
}

func TestOAuthTokenKeyConfig(t *testing.T) {
	for _, k := range [][]byte{nil, []byte("short"), make([]byte, 16), make([]byte, 33)} {
		if _, err := ginusers.New[Fields](storetest.NewMemStore[Fields](), ginusers.WithSecret(testSecret), ginusers.WithOAuthTokenKey(k)); err == nil {
			t.Fatalf("New() with a %d-byte OAuth token key: nil error, want a ConfigError", len(k))
		}
	}
}

func TestOAuthUserJSONHasNoTokens(t *testing.T) {
	u := User{ID: "1", Email: "a@example.com", OAuthAccounts: []ginusers.OAuthAccount{{
		ID: "e1", OAuthName: "google", AccountID: "108", AccountEmail: "a@gmail.example",
		AccessToken: "SECRET-ACCESS", RefreshToken: "SECRET-REFRESH", ExpiresAt: time.Unix(1700000000, 0),
	}}}
	b, err := u.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"1","email":"a@example.com","is_active":false,"is_superuser":false,"is_verified":false,` +
		`"oauth_accounts":[{"id":"e1","oauth_name":"google","account_id":"108","account_email":"a@gmail.example","expires_at":1700000000}],"first_name":null,"last_name":null,"age":0}`
	if string(b) != want {
		t.Fatalf("MarshalJSON() = %s\nwant %s", b, want)
	}
}

func TestOAuthState(t *testing.T) {
	h := newOAuthManager(t)
	tok, err := h.m.IssueOAuthState(ginusers.OAuthState{CSRF: "c", OAuthName: "google", UserID: "u1", Redirect: "/account"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := h.m.ReadOAuthState(tok)
	if err != nil || st != (ginusers.OAuthState{CSRF: "c", OAuthName: "google", UserID: "u1", Redirect: "/account"}) {
		t.Fatalf("ReadOAuthState() = %+v, %v; want what was issued", st, err)
	}
	h.now = h.now.Add(h.m.OAuthStateLifetime())
	if _, err := h.m.ReadOAuthState(tok); !errors.Is(err, ginusers.ErrTokenExpired) || !errors.Is(err, ginusers.ErrInvalidToken) {
		t.Fatalf("ReadOAuthState() of an expired state error = %v, want ErrInvalidToken and ErrTokenExpired", err)
	}
	// A state is no access, verify or reset token, and none of those is a state.
	h.now = time.Now()
	s, _ := ginusers.NewJWTStrategy(testSecret)
	if _, err := s.ReadToken(t.Context(), tok); !errors.Is(err, ginusers.ErrInvalidToken) {
		t.Fatalf("JWT strategy ReadToken(state) error = %v, want ErrInvalidToken", err)
	}
	access, _ := s.WriteToken(t.Context(), ginusers.TokenSubject{UserID: "u1"})
	if _, err := h.m.ReadOAuthState(access); !errors.Is(err, ginusers.ErrInvalidToken) || errors.Is(err, ginusers.ErrTokenExpired) {
		t.Fatalf("ReadOAuthState(access token) error = %v, want ErrInvalidToken", err)
	}
}
