package ginusers_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// Regressions found by an attacker's review of issue 7's change.

// TestInflightPatchOfEndedSessionWritesNothing: a PATCH /users/me that was
// already in flight (waiting for its password hash) when a password reset
// ended the user's sessions must not write: the attacker holding the stolen
// token must not keep the account (D7).
func TestInflightPatchOfEndedSessionWritesNothing(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var resetTok string
	a := newApp(t,
		ginusers.WithPasswordValidator(func(_ context.Context, pw string, _ *User) error {
			if pw == "attacker-password" {
				close(entered)
				select { // stands for the argon2 hash, or a wait for a hashing slot
				case <-release:
				case <-time.After(10 * time.Second):
				}
			}
			return nil
		}),
		ginusers.OnAfterForgotPassword(func(_ context.Context, _ *User, tok string) error { resetTok = tok; return nil }),
	)
	a.register("victim@example.com", "victim-password")
	stolen := a.login("victim@example.com", "victim-password")

	done := make(chan response, 1)
	go func() {
		done <- a.req("PATCH", "/users/me", map[string]any{"password": "attacker-password"}, bearer(stolen)...)
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the PATCH never reached the password validator")
	}
	wantStatus(t, a.req("POST", "/auth/forgot-password", map[string]any{"email": "victim@example.com"}), 202)
	a.waitDeliveries()
	wantStatus(t, a.req("POST", "/auth/reset-password", map[string]any{"token": resetTok, "password": "victim-new-password"}), 200)
	close(release)
	var r response
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight PATCH never finished")
	}
	wantDetail(t, r, http.StatusUnauthorized, "Unauthorized")
	a.login("victim@example.com", "victim-new-password")
	wantDetail(t, a.req("POST", "/auth/jwt/login", url.Values{"username": {"victim@example.com"}, "password": {"attacker-password"}}), 400, "LOGIN_BAD_CREDENTIALS")
}

// TestVerifyTokenDoesNotVerifyAUnicodeVariant: a verification token mailed
// to Élodie@ must not verify élodie@, a Unicode case variant the user
// switched to, which is another, unproven address (D3).
func TestVerifyTokenDoesNotVerifyAUnicodeVariant(t *testing.T) {
	var verifyTok string
	a := newApp(t, ginusers.OnAfterRequestVerify(func(_ context.Context, _ *User, tok string) error { verifyTok = tok; return nil }))
	a.register("Élodie@example.com", "password123")
	tok := a.login("Élodie@example.com", "password123")
	wantStatus(t, a.req("POST", "/auth/request-verify-token", map[string]any{"email": "Élodie@example.com"}), 202)
	a.waitDeliveries()
	if verifyTok == "" {
		t.Fatal("no verification token was delivered")
	}
	wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"email": "élodie@example.com"}, bearer(tok)...), 200)
	wantDetail(t, a.req("POST", "/auth/verify", map[string]any{"token": verifyTok}), 400, "VERIFY_USER_BAD_TOKEN")
	if u := a.mustGetByEmail("élodie@example.com"); u.Verified {
		t.Fatal("élodie@example.com was verified by a token mailed to Élodie@example.com")
	}
	// An ASCII-case change is the same mailbox: its token still works.
	var tok2 string
	b := newApp(t, ginusers.OnAfterRequestVerify(func(_ context.Context, _ *User, tok string) error { tok2 = tok; return nil }))
	b.register("bors@example.com", "password123")
	wantStatus(t, b.req("POST", "/auth/request-verify-token", map[string]any{"email": "bors@example.com"}), 202)
	b.waitDeliveries()
	wantStatus(t, b.req("PATCH", "/users/me", map[string]any{"email": "Bors@example.com"}, bearer(b.login("bors@example.com", "password123"))...), 200)
	if r := b.req("POST", "/auth/verify", map[string]any{"token": tok2}); r.Code != 200 || r.Field("is_verified") != true {
		t.Fatalf("verify after an ASCII-case change = %d %s, want 200 and verified", r.Code, r.Body)
	}
}

// TestIrrevocableJWTBesideARevocableOne: an irrevocable JWT strategy that
// accepts a revocable strategy's tokens (same secret and audience) would
// let revoked tokens through: New refuses it. With its own audience it is
// fine, and revocation holds for the revocable backend's tokens.
func TestIrrevocableJWTBesideARevocableOne(t *testing.T) {
	revocable, _ := ginusers.NewJWTStrategy(testSecret)
	shared, _ := ginusers.NewJWTStrategy(testSecret, ginusers.WithInsecureIrrevocableJWT())
	a := newApp(t)
	_, err := ginusers.New[Fields](a.store, ginusers.WithSecret(testSecret), ginusers.WithBackends(
		ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), revocable),
		ginusers.NewBackend("service", ginusers.NewBearerTransport(), shared),
	))
	var ce *ginusers.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("New() with an irrevocable JWT strategy sharing a revocable one's secret and audience = %v, want a *ConfigError", err)
	}
	own, _ := ginusers.NewJWTStrategy(testSecret, ginusers.WithInsecureIrrevocableJWT(), ginusers.WithJWTAudience("my-service:auth"))
	b := newApp(t, ginusers.WithBackends(
		ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), revocable),
		ginusers.NewBackend("service", ginusers.NewBearerTransport(), own),
	))
	b.register("percival@example.com", "password123")
	tok := b.login("percival@example.com", "password123")
	wantStatus(t, b.req("POST", "/auth/jwt/logout", nil, bearer(tok)...), 204)
	wantDetail(t, b.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
}

// TestFailedLoginLogsNoUsernameThatIsNotAnAddress: a password typed into
// the username field must not reach the log (D4).
func TestFailedLoginLogsNoUsernameThatIsNotAnAddress(t *testing.T) {
	logs := &logBuffer{}
	a := newApp(t, ginusers.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	wantDetail(t, a.req("POST", "/auth/jwt/login", url.Values{"username": {"Tr0ub4dor&3-secret"}, "password": {"x"}}), 400, "LOGIN_BAD_CREDENTIALS")
	if out := logs.String(); strings.Contains(strings.ToLower(out), "tr0ub4dor&3-secret") || !strings.Contains(out, "login failed") {
		t.Fatalf("log = %s; want a failed-login line without the text typed as username", out)
	}
}
