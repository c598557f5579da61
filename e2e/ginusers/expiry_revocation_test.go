package ginusers_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// backendsApp rebuilds a's manager and router with the given backends (and
// the usual test options, then extra), on a's database.
func backendsApp(t *testing.T, a *app, backends []*ginusers.Backend, extra ...ginusers.Option) {
	t.Helper()
	opts := append([]ginusers.Option{
		ginusers.WithSecret(testSecret),
		ginusers.WithPasswordHasher(a.hasher),
		ginusers.WithLogger(discardLogger),
		ginusers.WithClock(func() time.Time { return a.now }),
		ginusers.WithBackends(backends...),
	}, extra...)
	m, err := ginusers.New[Fields](a.store, opts...)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	a.m = m
	a.engine = gin.New()
	ginusers.Routes(a.engine, m)
}

// bearerLogin logs in over HTTP through the bearer backend of that name and
// returns the access token.
func (a *app) bearerLogin(backend, email, password string) string {
	a.t.Helper()
	r := a.req("POST", "/auth/"+backend+"/login", url.Values{"username": {email}, "password": {password}})
	if r.Code != http.StatusOK {
		a.t.Fatalf("POST /auth/%s/login %s = %d %s, want 200", backend, email, r.Code, r.Body)
	}
	tok, _ := r.Field("access_token").(string)
	if tok == "" {
		a.t.Fatalf("login body %s has no access_token", r.Body)
	}
	return tok
}

// waitUntil polls cond until it holds, and fails the test with what if it
// still does not after d: a test that waits for something fails, it never
// hangs.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", d, what)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting for %s", what)
		}
	}
}

// TestRevocationReachesLongLivedTokens: a user holds a short-lived and a
// long-lived database token in one store (two database backends with
// different lifetimes). Once the short one has expired (for Redis, really:
// the server's clock deletes its key), every revocation must still delete
// the long one from the store, not merely refuse it by the session epoch.
// A Redis index of the user's tokens that expired with the user's
// shortest-lived token would lose track of the long one: it would stay
// stored, and alive for any code that trusts the store (an app that opted
// out of epochs, a store shared with another service).
func TestRevocationReachesLongLivedTokens(t *testing.T) {
	const shortLifetime = time.Second
	for _, store := range []string{"mongo", "redis"} {
		t.Run("store="+store, func(t *testing.T) {
			t.Parallel() // each waits a second
			mb := &mailbox{}
			a := newApp(t)
			ts := tokenStores[store](t, a)
			jwtS, err := ginusers.NewJWTStrategy(testSecret)
			if err != nil {
				t.Fatal(err)
			}
			shortS, err := ginusers.NewDatabaseStrategy(ts, ginusers.WithTokenStoreLifetime(shortLifetime))
			if err != nil {
				t.Fatal(err)
			}
			longS, err := ginusers.NewDatabaseStrategy(ts, ginusers.WithTokenStoreLifetime(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			backendsApp(t, a, []*ginusers.Backend{
				ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), jwtS),
				ginusers.NewBackend("short", ginusers.NewBearerTransport(), shortS),
				ginusers.NewBackend("long", ginusers.NewBearerTransport(), longS),
			}, mailboxOptions(mb)...)
			_, admin := a.user("admin@camelot.bt", true, true, true) // a JWT

			type session struct {
				u                *User
				jwt, long, short string
			}
			events := []struct {
				name   string
				revoke func(t *testing.T, s session)
			}{
				{"logout everywhere", func(t *testing.T, s session) {
					wantStatus(t, a.req("POST", "/auth/logout-all", nil, bearer(s.jwt)...), http.StatusNoContent)
				}},
				{"a password change through PATCH /users/me", func(t *testing.T, s session) {
					wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"password": "a-new-password"}, bearer(s.jwt)...), http.StatusOK)
				}},
				{"a password change by a superuser", func(t *testing.T, s session) {
					wantStatus(t, a.req("PATCH", "/users/"+s.u.ID, map[string]any{"password": "a-new-password"}, bearer(admin)...), http.StatusOK)
				}},
				{"a password reset", func(t *testing.T, s session) {
					wantStatus(t, a.resetPassword(a.forgot(mb, s.u.Email), "a-new-password"), http.StatusOK)
				}},
				{"a deactivation", func(t *testing.T, s session) {
					wantStatus(t, a.req("PATCH", "/users/"+s.u.ID, map[string]any{"is_active": false}, bearer(admin)...), http.StatusOK)
				}},
			}

			// Every user logs in for a day, then for a second: the short
			// token is the last one the store files under the user.
			sessions := make([]session, len(events))
			var lastExpiry time.Time
			for i := range events {
				email := fmt.Sprintf("user%d@camelot.bt", i)
				s := session{}
				s.u, s.jwt = a.user(email, true, false, false)
				s.long = a.bearerLogin("long", email, "password123")
				a.now = time.Now() // the store's clock and the app's agree on when the short token expires
				s.short = a.bearerLogin("short", email, "password123")
				lastExpiry = a.now.Add(shortLifetime)
				wantStatus(t, a.req("GET", "/users/me", nil, bearer(s.short)...), http.StatusOK)
				sessions[i] = s
			}

			// Let the short tokens expire for real: Redis deletes their
			// keys by its own clock, this machine's.
			waitUntil(t, 10*time.Second, "the short-lived tokens to expire", func() bool {
				return time.Now().After(lastExpiry.Add(50 * time.Millisecond))
			})
			a.now = time.Now()
			for _, s := range sessions {
				wantDetail(t, a.req("GET", "/users/me", nil, bearer(s.short)...), http.StatusUnauthorized, "Unauthorized")
				if _, err := ts.GetToken(t.Context(), ginusers.TokenDigest(s.short)); !errors.Is(err, ginusers.ErrTokenNotFound) {
					t.Fatalf("GetToken(expired short-lived token) error = %v, want ErrTokenNotFound", err)
				}
				wantStatus(t, a.req("GET", "/users/me", nil, bearer(s.long)...), http.StatusOK)
			}

			for i, ev := range events {
				t.Run(ev.name, func(t *testing.T) {
					s := sessions[i]
					ev.revoke(t, s)
					if tok, err := ts.GetToken(t.Context(), ginusers.TokenDigest(s.long)); !errors.Is(err, ginusers.ErrTokenNotFound) {
						t.Fatalf("after %s, GetToken(long-lived token) error = %v, want ErrTokenNotFound: the store still holds it (expires %s)", ev.name, err, tok.ExpiresAt)
					}
					wantDetail(t, a.req("GET", "/users/me", nil, bearer(s.long)...), http.StatusUnauthorized, "Unauthorized")
					wantDetail(t, a.req("GET", "/users/me", nil, bearer(s.jwt)...), http.StatusUnauthorized, "Unauthorized")
				})
			}
		})
	}
}
