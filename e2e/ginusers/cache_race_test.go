package ginusers_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// gatedStore holds the first Get of an armed id after it read the store,
// until released: a request that read a user just before a write.
type gatedStore struct {
	ginusers.Store[Fields]
	mu      sync.Mutex
	armed   string
	read    chan struct{}
	release chan struct{}
}

func (s *gatedStore) Get(ctx context.Context, id string) (*User, error) {
	u, err := s.Store.Get(ctx, id)
	s.mu.Lock()
	gate := s.armed == id
	if gate {
		s.armed = ""
	}
	s.mu.Unlock()
	if gate {
		close(s.read)
		select {
		case <-s.release:
		case <-time.After(10 * time.Second):
		}
	}
	return u, err
}

// TestUserCacheNoStaleRefill: a read that began before a deactivation must
// not put the active user back into the cache after the deactivation
// cleared it (the user would be served as active for the cache's TTL).
func TestUserCacheNoStaleRefill(t *testing.T) {
	a := newApp(t)
	gs := &gatedStore{Store: a.store, read: make(chan struct{}), release: make(chan struct{})}
	m, err := ginusers.New[Fields](gs, ginusers.WithSecret(testSecret), ginusers.WithPasswordHasher(a.hasher),
		ginusers.WithLogger(discardLogger), ginusers.WithUserCache(time.Hour, 100))
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	a.engine = gin.New()
	ginusers.Routes(a.engine, m)
	u, tok := a.user("percival@camelot.bt", true, false, false)
	_, admin := a.user("admin@camelot.bt", true, true, true)

	gs.mu.Lock()
	gs.armed = u.ID
	gs.mu.Unlock()
	done := make(chan response, 1)
	go func() { done <- a.req("GET", "/users/me", nil, bearer(tok)...) }()
	select {
	case <-gs.read:
	case <-time.After(10 * time.Second):
		t.Fatal("the gated read did not happen")
	}
	// The user is deactivated while the read is in flight.
	wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": false}, bearer(admin)...), http.StatusOK)
	close(gs.release)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the gated request did not finish")
	}
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), http.StatusUnauthorized, "Unauthorized")
	if got, _ := a.m.Get(t.Context(), u.ID); got.Active {
		t.Fatalf("stored user is active after the deactivation")
	}
}
