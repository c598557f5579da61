package ginusers_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/ginusers/kit/e2e/internal/e2etest"
	"github.com/ginusers/kit/ginusers"
)

// mailbox records the tokens the flows hand to their hooks.
type mailbox struct {
	mu     sync.Mutex
	tokens map[string][]string // kind:email -> tokens
	events []string
}

func (mb *mailbox) put(kind string, u *User, token string) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.tokens == nil {
		mb.tokens = map[string][]string{}
	}
	mb.tokens[kind+":"+u.Email] = append(mb.tokens[kind+":"+u.Email], token)
	mb.events = append(mb.events, kind+":"+u.Email)
}

func (mb *mailbox) event(e string) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.events = append(mb.events, e)
}

func (mb *mailbox) all(kind, email string) []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.tokens[kind+":"+email]
}

// flowApp is an app whose verify and reset hooks post into a mailbox.
func flowApp(t *testing.T, extra ...ginusers.Option) (*app, *mailbox) {
	mb := &mailbox{}
	return newApp(t, append(mailboxOptions(mb), extra...)...), mb
}

// mailboxOptions are hooks that post tokens and events into mb.
func mailboxOptions(mb *mailbox) []ginusers.Option {
	return []ginusers.Option{
		ginusers.OnAfterForgotPassword(func(_ context.Context, u *User, tok string) error { mb.put("reset", u, tok); return nil }),
		ginusers.OnAfterRequestVerify(func(_ context.Context, u *User, tok string) error { mb.put("verify", u, tok); return nil }),
		ginusers.OnAfterResetPassword(func(_ context.Context, u *User) error { mb.event("after-reset:" + u.Email); return nil }),
		ginusers.OnAfterVerify(func(_ context.Context, u *User) error { mb.event("after-verify:" + u.Email); return nil }),
	}
}

// forgot asks for a reset token and returns the newest one delivered to
// email, or "" if none.
func (a *app) forgot(mb *mailbox, email string) string {
	a.t.Helper()
	r := a.req("POST", "/auth/forgot-password", map[string]any{"email": email})
	if r.Code != http.StatusAccepted || r.Body != "null" {
		a.t.Fatalf("forgot-password = %d %q, want 202 null", r.Code, r.Body)
	}
	a.waitDeliveries()
	toks := mb.all("reset", email)
	if len(toks) == 0 {
		return ""
	}
	return toks[len(toks)-1]
}

func (a *app) requestVerify(mb *mailbox, email string) string {
	a.t.Helper()
	r := a.req("POST", "/auth/request-verify-token", map[string]any{"email": email})
	if r.Code != http.StatusAccepted || r.Body != "null" {
		a.t.Fatalf("request-verify-token = %d %q, want 202 null", r.Code, r.Body)
	}
	a.waitDeliveries()
	toks := mb.all("verify", email)
	if len(toks) == 0 {
		return ""
	}
	return toks[len(toks)-1]
}

func (a *app) resetPassword(token, password string) response {
	return a.req("POST", "/auth/reset-password", map[string]any{"token": token, "password": password})
}

func TestForgotPassword(t *testing.T) {
	a, mb := flowApp(t)
	a.user("king.arthur@camelot.bt", true, false, false)
	a.user("inactive@camelot.bt", false, false, false)

	for _, tt := range []struct{ name, body string }{
		{"an empty object is 422", `{}`},
		{"a bad email is 422", `{"email": "not-an-email"}`},
		{"an operator object is 422", `{"email": {"$ne": ""}}`},
		{"malformed JSON is 422", `{"email"`},
	} {
		t.Run(tt.name, func(t *testing.T) { want422(t, a.req("POST", "/auth/forgot-password", tt.body), "") })
	}
	t.Run("an unknown address is 202 and sends nothing", func(t *testing.T) {
		if tok := a.forgot(mb, "nobody@camelot.bt"); tok != "" {
			t.Fatal("a token was issued for an unknown address")
		}
	})
	t.Run("an inactive user is 202 and gets nothing", func(t *testing.T) {
		if tok := a.forgot(mb, "inactive@camelot.bt"); tok != "" {
			t.Fatal("a token was issued for an inactive user")
		}
	})
	t.Run("an active user gets a token, in any case of the address", func(t *testing.T) {
		a.req("POST", "/auth/forgot-password", map[string]any{"email": "King.Arthur@CAMELOT.bt"})
		a.waitDeliveries()
		if len(mb.all("reset", "king.arthur@camelot.bt")) != 1 {
			t.Fatal("no token for a case variant of the address")
		}
	})
	t.Run("the answer costs no password hash whether or not the user exists", func(t *testing.T) {
		for _, email := range []string{"nobody@camelot.bt", "king.arthur@camelot.bt", "inactive@camelot.bt"} {
			h0, c0 := a.hasher.Hashes.Load(), a.hasher.Checks.Load()
			a.forgot(mb, email)
			if n := a.hasher.Hashes.Load() - h0 + a.hasher.Checks.Load() - c0; n != 0 {
				t.Fatalf("forgot-password for %s made %d hash calls, want 0", email, n)
			}
		}
	})
}

func TestResetPassword(t *testing.T) {
	a, mb := flowApp(t)
	u, _ := a.user("king.arthur@camelot.bt", true, false, true)
	tok := a.forgot(mb, "king.arthur@camelot.bt")
	if tok == "" {
		t.Fatal("no reset token delivered")
	}
	for _, tt := range []struct{ name, body, field string }{
		{"an empty object is 422", `{}`, "token"},
		{"a missing password is 422", `{"token": "x"}`, "password"},
		{"a missing token is 422", `{"password": "new-password"}`, "token"},
		{"a null token is 422", `{"token": null, "password": "new-password"}`, "token"},
	} {
		t.Run(tt.name, func(t *testing.T) { want422(t, a.req("POST", "/auth/reset-password", tt.body), tt.field) })
	}
	verifyTok, _ := a.backends[0].Strategy().WriteToken(t.Context(), ginusers.TokenSubject{UserID: u.ID, Epoch: u.SessionEpoch})
	for _, tt := range []struct{ name, token string }{
		{"garbage is a bad token", "garbage"},
		{"an access token is a bad token", verifyTok},
		{"a token signed with another key is a bad token", signJWT(t, jwa.HS256(), []byte("another secret that is long enough for HS256"), map[string]any{"sub": u.ID, "aud": "fastapi-users:reset", "password_fgpt": "x", "iat": a.now.Unix(), "exp": a.now.Add(time.Hour).Unix()})},
		{"a token without a fingerprint is a bad token", signJWT(t, jwa.HS256(), testSecret, map[string]any{"sub": u.ID, "aud": "fastapi-users:reset", "iat": a.now.Unix(), "exp": a.now.Add(time.Hour).Unix()})},
		{"a token with a forged fingerprint is a bad token", signJWT(t, jwa.HS256(), testSecret, map[string]any{"sub": u.ID, "aud": "fastapi-users:reset", "password_fgpt": "forged", "iat": a.now.Unix(), "exp": a.now.Add(time.Hour).Unix()})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantDetail(t, a.resetPassword(tt.token, "new-password"), 400, "RESET_PASSWORD_BAD_TOKEN")
		})
	}
	t.Run("an invalid password is refused and does not use the token", func(t *testing.T) {
		wantCode(t, a.resetPassword(tok, "short"), "RESET_PASSWORD_INVALID_PASSWORD", "Password should be at least 8 characters")
	})
	t.Run("a valid reset is 200 null and the new password works", func(t *testing.T) {
		r := a.resetPassword(tok, "new-password")
		if r.Code != 200 || r.Body != "null" {
			t.Fatalf("reset = %d %q, want 200 null", r.Code, r.Body)
		}
		a.login("king.arthur@camelot.bt", "new-password")
		s := a.stored(u.ID)
		if !s.Verified {
			t.Fatal("reset changed is_verified")
		}
	})
	t.Run("the same token cannot be used twice", func(t *testing.T) {
		wantDetail(t, a.resetPassword(tok, "another-password"), 400, "RESET_PASSWORD_BAD_TOKEN")
	})
	t.Run("an older token dies when a newer one is used", func(t *testing.T) {
		older := a.forgot(mb, "king.arthur@camelot.bt")
		a.now = a.now.Add(time.Second)
		newer := a.forgot(mb, "king.arthur@camelot.bt")
		wantStatus(t, a.resetPassword(newer, "newer-password"), 200)
		wantDetail(t, a.resetPassword(older, "older-password"), 400, "RESET_PASSWORD_BAD_TOKEN")
	})
	t.Run("a token dies when the password changes through PATCH /users/me", func(t *testing.T) {
		pending := a.forgot(mb, "king.arthur@camelot.bt")
		me := a.login("king.arthur@camelot.bt", "newer-password")
		wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"password": "patched-password"}, bearer(me)...), 200)
		wantDetail(t, a.resetPassword(pending, "reset-password-1"), 400, "RESET_PASSWORD_BAD_TOKEN")
	})
	t.Run("an expired token is a bad token", func(t *testing.T) {
		pending := a.forgot(mb, "king.arthur@camelot.bt")
		saved := a.now
		a.now = a.now.Add(time.Hour + time.Second)
		defer func() { a.now = saved }()
		wantDetail(t, a.resetPassword(pending, "reset-password-2"), 400, "RESET_PASSWORD_BAD_TOKEN")
	})
	t.Run("a verify token is a bad reset token", func(t *testing.T) {
		v, _ := a.user("unverified@camelot.bt", true, false, false)
		vt := a.requestVerify(mb, v.Email)
		wantDetail(t, a.resetPassword(vt, "reset-password-3"), 400, "RESET_PASSWORD_BAD_TOKEN")
	})
	t.Run("a deactivated user's token is a bad token", func(t *testing.T) {
		v, _ := a.user("soon-inactive@camelot.bt", true, false, false)
		pending := a.forgot(mb, v.Email)
		no := false
		if _, err := a.m.Update(t.Context(), v, ginusers.UserUpdate[Fields]{Active: &no}); err != nil {
			t.Fatal(err)
		}
		wantDetail(t, a.resetPassword(pending, "reset-password-4"), 400, "RESET_PASSWORD_BAD_TOKEN")
	})
	t.Run("a deleted user's token is a bad token", func(t *testing.T) {
		v, _ := a.user("soon-gone@camelot.bt", true, false, false)
		pending := a.forgot(mb, v.Email)
		if err := a.m.Delete(t.Context(), v); err != nil {
			t.Fatal(err)
		}
		wantDetail(t, a.resetPassword(pending, "reset-password-5"), 400, "RESET_PASSWORD_BAD_TOKEN")
	})
	t.Run("the after-reset hook ran once per reset", func(t *testing.T) {
		n := 0
		for _, e := range mb.events {
			if e == "after-reset:king.arthur@camelot.bt" {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("after-reset hook ran %d times, want 2 (events %v)", n, mb.events)
		}
	})
}

func TestResetTokenConcurrentUse(t *testing.T) {
	a, mb := flowApp(t)
	a.user("king.arthur@camelot.bt", true, false, false)
	tok := a.forgot(mb, "king.arthur@camelot.bt")
	const n = 10
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes[i] = a.resetPassword(tok, "parallel-password").Code })
	}
	e2etest.WaitGroup(t, &wg, raceTimeout, "10 concurrent resets with one token")
	ok := 0
	for _, c := range codes {
		if c == 200 {
			ok++
		} else if c != 400 {
			t.Fatalf("concurrent reset = %d", c)
		}
	}
	if ok != 1 {
		t.Fatalf("successful concurrent resets = %d, want 1", ok)
	}
}

func TestRequestVerifyAndVerify(t *testing.T) {
	a, mb := flowApp(t)
	u, _ := a.user("king.arthur@camelot.bt", true, false, false)
	a.user("inactive@camelot.bt", false, false, false)
	a.user("verified@camelot.bt", true, false, true)

	for _, email := range []string{"nobody@camelot.bt", "inactive@camelot.bt", "verified@camelot.bt"} {
		t.Run("no token for "+email, func(t *testing.T) {
			if tok := a.requestVerify(mb, email); tok != "" {
				t.Fatalf("a verify token was issued for %s", email)
			}
		})
	}
	want422(t, a.req("POST", "/auth/request-verify-token", `{}`), "email")
	want422(t, a.req("POST", "/auth/request-verify-token", `{"email": "bad"}`), "email")
	want422(t, a.req("POST", "/auth/verify", `{}`), "token")

	a.requestVerify(mb, "King.Arthur@camelot.bt")
	toks := mb.all("verify", "king.arthur@camelot.bt")
	if len(toks) != 1 {
		t.Fatalf("verify tokens for a case variant of the address = %d, want 1", len(toks))
	}
	tok := toks[0]
	if tok == "" {
		t.Fatal("no verify token for a case variant of the address")
	}
	resetTok := a.forgot(mb, "king.arthur@camelot.bt")
	for _, tt := range []struct{ name, token string }{
		{"garbage is a bad token", "garbage"},
		{"a reset token is a bad verify token", resetTok},
		{"a token without email is a bad token", signJWT(t, jwa.HS256(), testSecret, map[string]any{"sub": u.ID, "aud": "fastapi-users:verify", "iat": a.now.Unix(), "exp": a.now.Add(time.Hour).Unix()})},
		{"a token whose email and sub disagree is a bad token", signJWT(t, jwa.HS256(), testSecret, map[string]any{"sub": u.ID, "email": "verified@camelot.bt", "aud": "fastapi-users:verify", "iat": a.now.Unix(), "exp": a.now.Add(time.Hour).Unix()})},
		{"a token for an unknown email is a bad token", signJWT(t, jwa.HS256(), testSecret, map[string]any{"sub": u.ID, "email": "nobody@camelot.bt", "aud": "fastapi-users:verify", "iat": a.now.Unix(), "exp": a.now.Add(time.Hour).Unix()})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantDetail(t, a.req("POST", "/auth/verify", map[string]any{"token": tt.token}), 400, "VERIFY_USER_BAD_TOKEN")
		})
	}
	t.Run("an expired token is a bad token", func(t *testing.T) {
		saved := a.now
		a.now = a.now.Add(time.Hour + time.Second)
		defer func() { a.now = saved }()
		wantDetail(t, a.req("POST", "/auth/verify", map[string]any{"token": tok}), 400, "VERIFY_USER_BAD_TOKEN")
	})
	t.Run("a valid token verifies the user", func(t *testing.T) {
		r := a.req("POST", "/auth/verify", map[string]any{"token": tok})
		wantStatus(t, r, 200)
		if r.Field("is_verified") != true || r.Field("id") != u.ID {
			t.Fatalf("verify = %s", r.Body)
		}
	})
	t.Run("a second use is already verified", func(t *testing.T) {
		wantDetail(t, a.req("POST", "/auth/verify", map[string]any{"token": tok}), 400, "VERIFY_USER_ALREADY_VERIFIED")
	})
	t.Run("a token for an address the user no longer has is bad", func(t *testing.T) {
		v, vtok := a.user("changing@camelot.bt", true, false, false)
		old := a.requestVerify(mb, v.Email)
		wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"email": "changed@camelot.bt"}, bearer(vtok)...), 200)
		wantDetail(t, a.req("POST", "/auth/verify", map[string]any{"token": old}), 400, "VERIFY_USER_BAD_TOKEN")
		fresh := a.requestVerify(mb, "changed@camelot.bt")
		wantStatus(t, a.req("POST", "/auth/verify", map[string]any{"token": fresh}), 200)
	})
	t.Run("an inactive user can be verified", func(t *testing.T) {
		v, _ := a.user("to-deactivate@camelot.bt", true, false, false)
		vt := a.requestVerify(mb, v.Email)
		no := false
		if _, err := a.m.Update(t.Context(), v, ginusers.UserUpdate[Fields]{Active: &no}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, a.req("POST", "/auth/verify", map[string]any{"token": vt}), 200)
	})
	t.Run("a deleted user's token is a bad token", func(t *testing.T) {
		v, _ := a.user("to-delete@camelot.bt", true, false, false)
		vt := a.requestVerify(mb, v.Email)
		if err := a.m.Delete(t.Context(), v); err != nil {
			t.Fatal(err)
		}
		wantDetail(t, a.req("POST", "/auth/verify", map[string]any{"token": vt}), 400, "VERIFY_USER_BAD_TOKEN")
	})
}

func TestSeparateSecretsForFlows(t *testing.T) {
	other := []byte("a verify secret that differs from the main one!")
	a, mb := flowApp(t, ginusers.WithVerifySecret(other))
	a.user("king.arthur@camelot.bt", true, false, false)
	tok := a.requestVerify(mb, "king.arthur@camelot.bt")
	wantStatus(t, a.req("POST", "/auth/verify", map[string]any{"token": tok}), 200)
	// A verify token signed with the main secret is refused.
	u := a.mustGetByEmail("king.arthur@camelot.bt")
	forged := signJWT(t, jwa.HS256(), testSecret, map[string]any{"sub": u.ID, "email": u.Email, "aud": "fastapi-users:verify", "iat": a.now.Unix(), "exp": a.now.Add(time.Hour).Unix()})
	wantDetail(t, a.req("POST", "/auth/verify", map[string]any{"token": forged}), 400, "VERIFY_USER_BAD_TOKEN")
}

func TestHookFailureKeeps202(t *testing.T) {
	a := newApp(t, ginusers.OnAfterForgotPassword(func(context.Context, *User, string) error { return context.DeadlineExceeded }))
	a.user("king.arthur@camelot.bt", true, false, false)
	r := a.req("POST", "/auth/forgot-password", map[string]any{"email": "king.arthur@camelot.bt"})
	a.waitDeliveries()
	if r.Code != 202 || r.Body != "null" {
		t.Fatalf("forgot-password with a failing hook = %d %q, want 202 null", r.Code, r.Body)
	}
}
