package ginusers

import (
	"context"
	"sync"
	"time"
)

// userCache keeps users loaded by the authenticator for a short time, so
// that a request authenticated by a JWT needs no store round trip. Writes
// made through the Manager drop the entry; writes made elsewhere (another
// instance, the database directly) are seen after the time to live.
type userCache[F any] struct {
	ttl     time.Duration
	max     int
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]cacheEntry[F]
}

type cacheEntry[F any] struct {
	user    User[F]
	expires time.Time
}

func (c *userCache[F]) get(id string) (*User[F], bool) {
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	u := e.user
	return &u, true
}

func (c *userCache[F]) put(u *User[F]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Drop expired entries, then any entries, to make room.
		now := c.now()
		for id, e := range c.entries {
			if !now.Before(e.expires) || len(c.entries) >= c.max {
				delete(c.entries, id)
			}
		}
	}
	c.entries[u.ID] = cacheEntry[F]{user: *u, expires: c.now().Add(c.ttl)}
}

func (c *userCache[F]) drop(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}

// getUser loads a user for the authenticator, through the cache if any.
func (m *Manager[F]) getUser(ctx context.Context, id string) (*User[F], error) {
	if m.cache == nil {
		return m.store.Get(ctx, id)
	}
	if u, ok := m.cache.get(id); ok {
		return u, nil
	}
	u, err := m.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	m.cache.put(u)
	return u, nil
}

// forget drops a user from the cache after a write.
func (m *Manager[F]) forget(id string) {
	if m.cache != nil {
		m.cache.drop(id)
	}
}
