package ginusers

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// userCache keeps users loaded by the authenticator for a short time, so
// that a request authenticated by a JWT needs no store round trip. Writes
// made through the Manager drop the entry; writes made elsewhere (another
// instance, the database directly) are seen after the time to live.
//
// A read that began before a write must not put the user it read back
// after the write dropped it: every drop advances a generation counter
// (one of a fixed set, chosen by the user's id), a reader notes the
// counter before it reads the store, and its put is ignored if the counter
// moved meanwhile.
type userCache[F any] struct {
	ttl     time.Duration
	max     int
	now     func() time.Time
	seed    maphash.Seed
	mu      sync.Mutex
	entries map[string]cacheEntry[F]
	gens    [64]uint64
}

type cacheEntry[F any] struct {
	user    User[F]
	expires time.Time
}

func newUserCache[F any](ttl time.Duration, max int, now func() time.Time) *userCache[F] {
	return &userCache[F]{ttl: ttl, max: max, now: now, seed: maphash.MakeSeed(), entries: map[string]cacheEntry[F]{}}
}

func (c *userCache[F]) slot(id string) int {
	return int(maphash.String(c.seed, id) % uint64(len(c.gens)))
}

// get returns the cached user, or false and the generation to hand to put
// after reading the store.
func (c *userCache[F]) get(id string) (*User[F], uint64, bool) {
	c.mu.Lock()
	e, ok := c.entries[id]
	gen := c.gens[c.slot(id)]
	c.mu.Unlock()
	if !ok || !c.now().Before(e.expires) {
		return nil, gen, false
	}
	u := e.user
	return &u, gen, true
}

// put caches u, read from the store after get returned gen, unless the
// user was dropped since.
func (c *userCache[F]) put(u *User[F], gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens[c.slot(u.ID)] != gen {
		return // written meanwhile: what was read may be stale
	}
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
	c.gens[c.slot(id)]++
	c.mu.Unlock()
}

// getUser loads a user for the authenticator, through the cache if any.
func (m *Manager[F]) getUser(ctx context.Context, id string) (*User[F], error) {
	if m.cache == nil {
		return m.store.Get(ctx, id)
	}
	u, gen, ok := m.cache.get(id)
	if ok {
		return u, nil
	}
	u, err := m.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	m.cache.put(u, gen)
	return u, nil
}

// forget drops a user from the cache after a write.
func (m *Manager[F]) forget(id string) {
	if m.cache != nil {
		m.cache.drop(id)
	}
}
