package ginusers_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/e2e/internal/e2etest"
)

// TestSuperuserDecisionSurvivesSelfPatchFlood reproduces the lost update of
// D13: while a user floods PATCH /users/me with an unrelated change, a
// superuser deactivates or demotes them. The superuser's change must hold
// in every round, and the user's token must stop working on deactivation.
func TestSuperuserDecisionSurvivesSelfPatchFlood(t *testing.T) {
	cases := []struct {
		name   string
		target bool // target starts as a superuser
		change map[string]any
		check  func(u *User) bool
	}{
		{"deactivation", false, map[string]any{"is_active": false}, func(u *User) bool { return !u.Active }},
		{"demotion", true, map[string]any{"is_superuser": false}, func(u *User) bool { return !u.Superuser }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t)
			_, admin := a.user("admin@example.com", true, true, true)
			for round := range 8 {
				u, tok := a.user(emailN("target", round), true, tc.target, true)
				deadline := time.Now().Add(20 * time.Second)
				stop := make(chan struct{})
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							select {
							case <-stop:
								return
							default:
							}
							if time.Now().After(deadline) {
								return
							}
							a.req("PATCH", "/users/me", map[string]any{"last_name": "x"}, bearer(tok)...)
						}
					}()
				}
				time.Sleep(20 * time.Millisecond)
				r := a.req("PATCH", "/users/"+u.ID, tc.change, bearer(admin)...)
				time.Sleep(30 * time.Millisecond)
				close(stop)
				e2etest.WaitGroup(t, &wg, raceTimeout, "the PATCH /users/me flood")
				wantStatus(t, r, http.StatusOK)
				if got := a.stored(u.ID); !tc.check(got) {
					t.Fatalf("round %d: stored user after the superuser's %v = active %v, superuser %v; the change was lost",
						round, tc.change, got.Active, got.Superuser)
				}
				if tc.name == "deactivation" {
					if r := a.req("GET", "/users/me", nil, bearer(tok)...); r.Code != http.StatusUnauthorized {
						t.Fatalf("round %d: GET /users/me with the deactivated user's token = %d, want 401", round, r.Code)
					}
				}
			}
		})
	}
}

func emailN(prefix string, n int) string { return prefix + string(rune('a'+n)) + "@example.com" }
