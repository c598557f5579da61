package ginusers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// DatabaseStrategy issues opaque random tokens and keeps them in an
// [AccessTokenStore], as fastapi-users' database and Redis strategies do,
// with these differences: a token is 256 random bits, only its SHA-256
// digest is stored, every token expires, and logout really deletes it.
// Because tokens live in the store, two app instances on one database see
// each other's logins and logouts, and all of a user's tokens can be
// revoked at once ([Revoker]).
type DatabaseStrategy struct {
	store    AccessTokenStore
	lifetime time.Duration
	clock    func() time.Time
}

// DatabaseOption configures a [DatabaseStrategy].
type DatabaseOption func(*DatabaseStrategy)

// WithTokenStoreLifetime sets how long tokens of a [DatabaseStrategy] stay
// valid (a fixed lifetime, not sliding). The default is one hour; zero or
// negative is a configuration error.
func WithTokenStoreLifetime(d time.Duration) DatabaseOption {
	return func(s *DatabaseStrategy) { s.lifetime = d }
}

// NewDatabaseStrategy returns a strategy storing tokens in store
// (mongostore.TokenStore, redisstore.Store, or your own).
func NewDatabaseStrategy(store AccessTokenStore, opts ...DatabaseOption) (*DatabaseStrategy, error) {
	s := &DatabaseStrategy{store: store, lifetime: time.Hour, clock: time.Now}
	for _, o := range opts {
		o(s)
	}
	if store == nil {
		return nil, configErrorf("token store is nil")
	}
	if s.lifetime <= 0 {
		return nil, configErrorf("token lifetime must be positive, got %v", s.lifetime)
	}
	return s, nil
}

func (s *DatabaseStrategy) setClock(clock func() time.Time) { s.clock = clock }

// TokenDigest returns the lower-case hex SHA-256 of token, the form in
// which an [AccessTokenStore] keeps it.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// WriteToken implements [Strategy]: 32 random bytes, base64url-encoded
// (43 characters).
func (s *DatabaseStrategy) WriteToken(ctx context.Context, sub TokenSubject) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.clock().UTC()
	err := s.store.CreateToken(ctx, AccessToken{Digest: TokenDigest(token), UserID: sub.UserID, CreatedAt: now, ExpiresAt: now.Add(s.lifetime), Epoch: sub.Epoch})
	if err != nil {
		return "", fmt.Errorf("ginusers: store token: %w", err)
	}
	return token, nil
}

// ReadToken implements [Strategy]. An expired token is deleted as it is
// seen, and refused.
func (s *DatabaseStrategy) ReadToken(ctx context.Context, token string) (TokenInfo, error) {
	if len(token) == 0 || len(token) > maxTokenLength {
		return TokenInfo{}, fmt.Errorf("%w: bad length", ErrInvalidToken)
	}
	digest := TokenDigest(token)
	t, err := s.store.GetToken(ctx, digest)
	if errors.Is(err, ErrTokenNotFound) {
		return TokenInfo{}, fmt.Errorf("%w: unknown token", ErrInvalidToken)
	}
	if err != nil {
		return TokenInfo{}, err
	}
	if !s.clock().Before(t.ExpiresAt) {
		if _, err := s.store.DeleteToken(ctx, digest); err != nil {
			return TokenInfo{}, err
		}
		return TokenInfo{}, fmt.Errorf("%w: %w", ErrInvalidToken, errTokenExpired)
	}
	return TokenInfo{UserID: t.UserID, Epoch: t.Epoch, ExpiresAt: t.ExpiresAt}, nil
}

// DestroyToken implements [Strategy]: the token is deleted.
func (s *DatabaseStrategy) DestroyToken(ctx context.Context, token string) error {
	_, err := s.store.DeleteToken(ctx, TokenDigest(token))
	return err
}

// RevokeAll implements [Revoker]: every token of the user is deleted.
func (s *DatabaseStrategy) RevokeAll(ctx context.Context, userID string) error {
	_, err := s.store.DeleteUserTokens(ctx, userID)
	return err
}

// DeleteExpired deletes expired tokens from the store and returns how many.
// Stores with server-side expiry need not be purged; for others (FerretDB
// has no TTL index) call it now and then, from a job.
func (s *DatabaseStrategy) DeleteExpired(ctx context.Context) (int64, error) {
	return s.store.DeleteExpiredTokens(ctx, s.clock())
}

// Revoker is implemented by strategies that can revoke every token of a
// user, such as [DatabaseStrategy]. The [Manager] calls it when a user's
// password changes or is reset, when the user is deactivated or deleted,
// and on logout everywhere.
type Revoker interface {
	RevokeAll(ctx context.Context, userID string) error
}
