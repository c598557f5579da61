package storetest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// MemTokenStore is an in-memory [ginusers.AccessTokenStore], for tests and
// examples. It keeps nothing on disk, shares nothing between processes and
// suits no production use.
//
// Like the database stores, it keeps times at millisecond precision and
// returns them in UTC. Nothing expires by itself: GetToken returns an
// expired token until DeleteExpiredTokens, DeleteToken or DeleteUserTokens
// removes it.
//
// The zero value is an empty store ready to use. A MemTokenStore is safe
// for concurrent use; it must not be copied after first use.
type MemTokenStore struct {
	mu     sync.Mutex
	tokens map[string]ginusers.AccessToken // by digest
}

var _ ginusers.AccessTokenStore = (*MemTokenStore)(nil)

// NewMemTokenStore returns an empty MemTokenStore.
func NewMemTokenStore() *MemTokenStore { return &MemTokenStore{} }

// Len returns the number of tokens in the store, expired ones included.
func (s *MemTokenStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// CreateToken stores t, its times truncated to milliseconds. It returns an
// error wrapping [ginusers.ErrTokenExists] if the digest is stored already,
// and the context's error if ctx is done.
func (s *MemTokenStore) CreateToken(ctx context.Context, t ginusers.AccessToken) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storetest: create token: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[t.Digest]; ok {
		return fmt.Errorf("storetest: create token: %w", ginusers.ErrTokenExists)
	}
	if s.tokens == nil {
		s.tokens = map[string]ginusers.AccessToken{}
	}
	t.CreatedAt = memTime(t.CreatedAt)
	t.ExpiresAt = memTime(t.ExpiresAt)
	s.tokens[t.Digest] = t
	return nil
}

// memTime returns t as a database would store it: at millisecond
// precision, in UTC, without a monotonic clock reading (Truncate drops it).
func memTime(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// GetToken returns the token with the given digest, expired or not, or an
// error wrapping [ginusers.ErrTokenNotFound].
func (s *MemTokenStore) GetToken(ctx context.Context, digest string) (ginusers.AccessToken, error) {
	if err := ctx.Err(); err != nil {
		return ginusers.AccessToken{}, fmt.Errorf("storetest: get token: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[digest]
	if !ok {
		return ginusers.AccessToken{}, fmt.Errorf("storetest: get token: %w", ginusers.ErrTokenNotFound)
	}
	return t, nil
}

// DeleteToken deletes the token with the given digest and reports whether
// it was there.
func (s *MemTokenStore) DeleteToken(ctx context.Context, digest string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("storetest: delete token: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[digest]; !ok {
		return false, nil
	}
	delete(s.tokens, digest)
	return true, nil
}

// DeleteUserTokens deletes every token of the user, expired or not, and
// returns how many.
func (s *MemTokenStore) DeleteUserTokens(ctx context.Context, userID string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storetest: delete user tokens: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for d, t := range s.tokens {
		if t.UserID == userID {
			delete(s.tokens, d)
			n++
		}
	}
	return n, nil
}

// DeleteExpiredTokens deletes the tokens whose ExpiresAt is before now and
// returns how many.
func (s *MemTokenStore) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storetest: delete expired tokens: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for d, t := range s.tokens {
		if t.ExpiresAt.Before(now) {
			delete(s.tokens, d)
			n++
		}
	}
	return n, nil
}
