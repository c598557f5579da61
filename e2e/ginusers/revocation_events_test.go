package ginusers_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/ginusers/kit/ginusers"
)

// session is a token of one backend of multiApp, as a request sends it.
type session struct {
	backend string
	headers []string
	digest  string // what the token store keeps; "" for a JWT
}

// sessionsOf logs email in over HTTP on every backend of multiApp.
func (a *app) sessionsOf(email, password string) []session {
	a.t.Helper()
	db := a.dbLogin(email, password)
	c := a.cookieLogin(email, password)
	return []session{
		{"jwt", bearer(a.login(email, password)), ""},
		{"db", bearer(db), ginusers.TokenDigest(db)},
		{"cookie", withCookie(c), ginusers.TokenDigest(c.Value)},
	}
}

// TestEveryRevocationEndsEverySession (D7): each event that ends a user's
// sessions ends those of every backend (JWT, database tokens in a bearer
// header and in a cookie) on every token store: a token issued before the
// event is refused, and a stored one is gone from the store. A token
// issued after the event works, at the same instant (the test's clock
// never moves), and does not bring the old ones back.
func TestEveryRevocationEndsEverySession(t *testing.T) {
	for _, store := range []string{"mongo", "redis"} {
		t.Run("store="+store, func(t *testing.T) {
			mb := &mailbox{}
			a := multiApp(t, store, mailboxOptions(mb)...)
			_, admin := a.user("admin@camelot.bt", true, true, true)
			for i, tt := range []struct {
				name string
				// event ends the sessions of u and returns the password
				// that logs u in afterwards ("" when nothing can).
				event func(t *testing.T, u *User, old []session) string
			}{
				{"a password reset", func(t *testing.T, u *User, _ []session) string {
					wantStatus(t, a.resetPassword(a.forgot(mb, u.Email), "reset-password"), http.StatusOK)
					return "reset-password"
				}},
				{"a new password through PATCH /users/me", func(t *testing.T, u *User, old []session) string {
					wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"password": "patched-password"}, old[1].headers...), http.StatusOK)
					return "patched-password"
				}},
				{"a new password set by a superuser through PATCH /users/{id}", func(t *testing.T, u *User, _ []session) string {
					wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"password": "admin-password"}, bearer(admin)...), http.StatusOK)
					return "admin-password"
				}},
				{"logout everywhere", func(t *testing.T, u *User, old []session) string {
					wantStatus(t, a.req("POST", "/auth/logout-all", nil, old[0].headers...), http.StatusNoContent)
					return "password123"
				}},
				{"a deactivation by a superuser, then a reactivation", func(t *testing.T, u *User, old []session) string {
					wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": false}, bearer(admin)...), http.StatusOK)
					for _, s := range old {
						wantDetail(t, a.req("GET", "/users/me", nil, s.headers...), http.StatusUnauthorized, "Unauthorized")
					}
					wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": true}, bearer(admin)...), http.StatusOK)
					return "password123"
				}},
				{"a deletion by a superuser", func(t *testing.T, u *User, _ []session) string {
					wantStatus(t, a.req("DELETE", "/users/"+u.ID, nil, bearer(admin)...), http.StatusNoContent)
					return ""
				}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					u, _ := a.user(fmt.Sprintf("event%d@camelot.bt", i), true, false, false)
					old := a.sessionsOf(u.Email, "password123")
					for _, s := range old {
						wantStatus(t, a.req("GET", "/users/me", nil, s.headers...), http.StatusOK)
					}
					password := tt.event(t, u, old)
					wantEnded := func(when string) {
						t.Helper()
						for _, s := range old {
							if r := a.req("GET", "/users/me", nil, s.headers...); r.Code != http.StatusUnauthorized {
								t.Fatalf("%s: GET /users/me with a %s token issued before the event = %d %s, want 401", when, s.backend, r.Code, r.Body)
							}
							if s.digest == "" {
								continue
							}
							if _, err := a.tokens.GetToken(t.Context(), s.digest); !errors.Is(err, ginusers.ErrTokenNotFound) {
								t.Fatalf("%s: GetToken(%s token issued before the event) error = %v, want ErrTokenNotFound: still stored", when, s.backend, err)
							}
						}
					}
					wantEnded("after the event")
					if password == "" {
						return
					}
					for _, s := range a.sessionsOf(u.Email, password) {
						if r := a.req("GET", "/users/me", nil, s.headers...); r.Code != http.StatusOK {
							t.Fatalf("GET /users/me with a %s token issued after the event, at the same instant = %d %s, want 200", s.backend, r.Code, r.Body)
						}
					}
					wantEnded("after new logins")
				})
			}
			t.Run("other users keep their sessions", func(t *testing.T) {
				wantStatus(t, a.req("GET", "/users/me", nil, bearer(admin)...), http.StatusOK)
			})
		})
	}
}
