package ginusers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginusers/kit/e2e/internal/e2etest"
	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

// gateHasher records how many hash calls run at once.
type gateHasher struct {
	inner       ginusers.PasswordHasher
	active, max atomic.Int64
}

func (h *gateHasher) enter() {
	n := h.active.Add(1)
	for {
		m := h.max.Load()
		if n <= m || h.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond) // hold the slot long enough to overlap
}

func (h *gateHasher) Hash(p string) (string, error) {
	h.enter()
	defer h.active.Add(-1)
	return h.inner.Hash(p)
}

func (h *gateHasher) Verify(p, hash string) (bool, bool, error) {
	h.enter()
	defer h.active.Add(-1)
	return h.inner.Verify(p, hash)
}

func TestHashingIsBounded(t *testing.T) {
	h := &gateHasher{inner: storetest.NewCountingHasher()}
	a := newApp(t, ginusers.WithPasswordHasher(h), ginusers.WithMaxConcurrentHashes(2))
	a.register("king.arthur@camelot.bt", "guinevere")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			user := "king.arthur@camelot.bt"
			if i%2 == 1 {
				user = "nobody@camelot.bt" // the dummy hash takes a slot too
			}
			a.req("POST", "/auth/jwt/login", form(user, "guinevere"))
		})
	}
	e2etest.WaitGroup(t, &wg, raceTimeout, "16 concurrent logins with 2 hashing slots")
	if got := h.max.Load(); got > 2 || got < 1 {
		t.Fatalf("concurrent hash calls peaked at %d, want at most 2", got)
	}
}

// TestLoginWaitingForAHashSlotGivesUp: with one hashing slot, held by a
// login whose hash is stuck, a second login whose client gives up after
// 50 ms answers 503 at once. Every wait has a deadline of its own, so a
// broken bound (the second login hashes anyway) or a wait that ignores the
// request's context fails the test within seconds instead of hanging it.
func TestLoginWaitingForAHashSlotGivesUp(t *testing.T) {
	h := &blockingHasher{inner: storetest.NewCountingHasher(), block: make(chan struct{}), entered: make(chan struct{}, 16)}
	a := newApp(t, ginusers.WithPasswordHasher(h), ginusers.WithMaxConcurrentHashes(1))
	u, _ := a.user("king.arthur@camelot.bt", true, false, false) // hashes before blocking
	h.armed.Store(true)
	release := sync.OnceFunc(func() { close(h.block) })
	defer release() // also when the test fails: the stuck logins finish

	first := make(chan response, 1)
	go func() { first <- a.req("POST", "/auth/jwt/login", form(u.Email, "password123")) }() // takes the only slot and blocks
	select {
	case <-h.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first login did not reach the password hasher within 10s")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	second := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		r := httptest.NewRequestWithContext(ctx, "POST", "/auth/jwt/login", strings.NewReader(form(u.Email, "password123").Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		a.engine.ServeHTTP(w, r)
		second <- w
	}()
	select {
	case w := <-second:
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("login while hashing is saturated and the client gave up = %d %s, want 503", w.Code, w.Body)
		}
	case <-h.entered:
		t.Fatal("a second login entered the password hasher while the only hashing slot was held: WithMaxConcurrentHashes(1) is not enforced")
	case <-time.After(5 * time.Second):
		t.Fatal("a login waiting for a hashing slot was still waiting 5s after its client gave up (50ms): the wait ignores the request's context")
	}

	release()
	select {
	case r := <-first:
		wantStatus(t, r, http.StatusOK)
	case <-time.After(10 * time.Second):
		t.Fatal("the first login did not finish within 10s of its hash being released")
	}
}

// blockingHasher, once armed, announces each Verify on entered (without
// waiting) and holds it until block is closed.
type blockingHasher struct {
	inner   ginusers.PasswordHasher
	block   chan struct{}
	entered chan struct{}
	armed   atomic.Bool
}

func (h *blockingHasher) Hash(p string) (string, error) { return h.inner.Hash(p) }
func (h *blockingHasher) Verify(p, hash string) (bool, bool, error) {
	if h.armed.Load() {
		select {
		case h.entered <- struct{}{}:
		default:
		}
		<-h.block
	}
	return h.inner.Verify(p, hash)
}
