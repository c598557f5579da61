package ginusers_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/e2e/internal/e2etest"
	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/mongostore"
)

// otherInstance returns a second app on one's users collection: a Manager
// and a router of its own over store (one.store to share it, or a Store of
// its own on the same collection), with one's secret, hasher and clock.
func otherInstance(t *testing.T, one *app, store *mongostore.Store[Fields], extra ...ginusers.Option) *app {
	t.Helper()
	two := &app{t: t, hasher: one.hasher, now: one.now, coll: one.coll, store: store}
	opts := append([]ginusers.Option{
		ginusers.WithSecret(testSecret),
		ginusers.WithPasswordHasher(one.hasher),
		ginusers.WithLogger(discardLogger),
		ginusers.WithClock(func() time.Time { return one.now }),
	}, extra...)
	m, err := ginusers.New[Fields](store, opts...)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	two.m, two.engine = m, gin.New()
	ginusers.Routes(two.engine, m)
	return two
}

// raceInstances sends n requests at the same moment, alternately through
// each app, and returns their responses in order.
func raceInstances(t *testing.T, apps []*app, n int, send func(a *app, i int) response) []response {
	t.Helper()
	out := make([]response, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		a := apps[i%len(apps)]
		wg.Go(func() {
			<-start
			out[i] = send(a, i)
		})
	}
	close(start)
	e2etest.WaitGroup(t, &wg, raceTimeout, fmt.Sprintf("%d concurrent requests on %d instances", n, len(apps)))
	return out
}

// countEvents returns how often the hooks posted event e into mb.
func countEvents(mb *mailbox, e string) int {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	n := 0
	for _, x := range mb.events {
		if x == e {
			n++
		}
	}
	return n
}

// TestTokensAreSingleUseAcrossInstances: two app instances (two Managers
// and two routers on one users collection) receive the same reset token,
// or the same verify token, at the same moment, round after round. Exactly
// one request may succeed (D13): the others get the normal 400, the
// password that works afterwards is the winner's, and the after-reset or
// after-verify hook runs once.
//
// Two Managers sharing one mongostore.Store, and two Stores on one
// collection, must hold this on every server: mongostore serialises the
// writes to one user within the process, whatever Store value makes them.
// Across processes only MongoDB holds it (every update of a document is
// atomic there); FerretDB cannot (its conditional updates are
// read-modify-write without a lock), as docs/mongostore.md says.
func TestTokensAreSingleUseAcrossInstances(t *testing.T) {
	const rounds, racers = 10, 8
	for _, tt := range []struct {
		name   string
		shared bool
	}{
		{"two managers sharing one store", true},
		{"two stores on one collection, in one process", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mb := &mailbox{}
			one := newApp(t, mailboxOptions(mb)...)
			store := one.store
			if !tt.shared {
				store = mongostore.New[Fields](one.coll)
			}
			two := otherInstance(t, one, store, mailboxOptions(mb)...)
			apps := []*app{one, two}

			t.Run("a reset token", func(t *testing.T) {
				u, _ := one.user("king.arthur@camelot.bt", true, false, false)
				wins := 0
				for round := range rounds {
					tok := one.forgot(mb, u.Email)
					password := func(i int) string { return fmt.Sprintf("round-%d-racer-%d", round, i) }
					rs := raceInstances(t, apps, racers, func(a *app, i int) response { return a.resetPassword(tok, password(i)) })
					won := map[int]bool{}
					for i, r := range rs {
						switch {
						case r.Code == http.StatusOK:
							won[i] = true
						case r.Code == http.StatusBadRequest && r.Detail() == "RESET_PASSWORD_BAD_TOKEN":
						default:
							t.Fatalf("round %d: concurrent reset = %d %s, want 200 or 400 RESET_PASSWORD_BAD_TOKEN", round, r.Code, r.Body)
						}
					}
					wins += len(won)
					if len(won) != 1 {
						t.Fatalf("round %d: %d of %d concurrent resets with one token succeeded, want exactly 1", round, len(won), racers)
					}
					// Exactly one of the passwords works now, a winner's.
					var works []int
					for i := range racers {
						if apps[i%2].req("POST", "/auth/jwt/login", form(u.Email, password(i))).Code == http.StatusOK {
							works = append(works, i)
						}
					}
					if len(works) != 1 || !won[works[0]] {
						t.Fatalf("round %d: after the race the passwords of requests %v work, want exactly one, the winner's (winners %v)", round, works, won)
					}
				}
				if n := countEvents(mb, "after-reset:"+u.Email); n != wins {
					t.Fatalf("the after-reset hook ran %d times for %d successful resets", n, wins)
				}
			})
			t.Run("a verify token", func(t *testing.T) {
				for round := range rounds {
					u, _ := one.user(fmt.Sprintf("round%d@camelot.bt", round), true, false, false)
					tok := one.requestVerify(mb, u.Email)
					rs := raceInstances(t, apps, racers, func(a *app, _ int) response {
						return a.req("POST", "/auth/verify", map[string]any{"token": tok})
					})
					ok := 0
					for _, r := range rs {
						switch {
						case r.Code == http.StatusOK:
							ok++
						case r.Code == http.StatusBadRequest && (r.Detail() == "VERIFY_USER_ALREADY_VERIFIED" || r.Detail() == "VERIFY_USER_BAD_TOKEN"):
						default:
							t.Fatalf("round %d: concurrent verify = %d %s, want 200 or 400 VERIFY_USER_ALREADY_VERIFIED or VERIFY_USER_BAD_TOKEN", round, r.Code, r.Body)
						}
					}
					if ok != 1 {
						t.Fatalf("round %d: %d of %d concurrent verifications with one token succeeded, want exactly 1", round, ok, racers)
					}
					if n := countEvents(mb, "after-verify:"+u.Email); n != ok {
						t.Fatalf("round %d: the after-verify hook ran %d times for %d successful verifications", round, n, ok)
					}
					if !one.stored(u.ID).Verified {
						t.Fatalf("round %d: the user is not verified after the race", round)
					}
				}
			})
		})
	}
}
