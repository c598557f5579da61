package ginusers

import (
	"context"
	"time"
)

// Store persists users. Implementations must be safe for concurrent use.
// Every method takes the request's context first and must honour its
// cancellation. Run [github.com/ginusers/kit/ginusers/storetest.Run] against
// an implementation to check it keeps this contract.
//
// E-mail addresses reach the store already normalised by the [Manager]; the
// store stores them as given and compares them by [EmailKey], so uniqueness
// and lookup are case-insensitive. A store that keeps the key (as mongostore
// does) must keep it stable: if [EmailKey] ever changed, stored keys would
// have to be recomputed.
//
// F, the application's field type, should be a struct (or a pointer to
// one); stores may refuse other types. Times are stored in UTC with at
// least millisecond precision.
type Store[F any] interface {
	// Create inserts u and sets u.ID to the new identifier; any ID the caller
	// set is ignored. It returns an error wrapping [ErrUserExists] when
	// another user has the same [EmailKey], including when a concurrent
	// Create or Update won the race: exactly one of them succeeds.
	Create(ctx context.Context, u *User[F]) error

	// Get returns the user with the given id. It returns an error wrapping
	// [ErrUserNotFound] when there is none, and also when the store cannot
	// parse id (an id from a URL or a token is untrusted input).
	Get(ctx context.Context, id string) (*User[F], error)

	// GetByEmail returns the user whose [EmailKey] equals that of email, or
	// an error wrapping [ErrUserNotFound]. email is matched exactly, never as
	// a pattern.
	GetByEmail(ctx context.Context, email string) (*User[F], error)

	// Update stores every field of u, found by u.ID, in one write. It returns
	// an error wrapping [ErrUserExists] when the new e-mail belongs to another
	// user, and one wrapping [ErrUserNotFound] when u.ID does not exist; it
	// never creates a user. It should leave stored fields it does not know
	// alone (another service sharing the data may have written them).
	Update(ctx context.Context, u *User[F]) error

	// Delete removes the user with the given id. It returns an error wrapping
	// [ErrUserNotFound] when there is none.
	Delete(ctx context.Context, id string) error
}

// AccessToken is a stored access token of a [DatabaseStrategy]. Only the
// SHA-256 digest of the token is stored, never the token itself, so a copy
// of the database yields no usable token.
type AccessToken struct {
	// Digest is the lower-case hex SHA-256 of the token (64 characters);
	// stores may refuse anything else.
	Digest string
	// UserID is the id of the user the token was issued to.
	UserID string
	// CreatedAt is when the token was issued.
	CreatedAt time.Time
	// ExpiresAt is when the token stops working.
	ExpiresAt time.Time
}

// AccessTokenStore persists the access tokens of a [DatabaseStrategy].
// Implementations must be safe for concurrent use and share no state
// between processes other than the database: two app instances on one
// database see each other's logins and logouts at once. Run
// [github.com/ginusers/kit/ginusers/storetest.RunTokens] against an
// implementation to check it keeps this contract.
type AccessTokenStore interface {
	// CreateToken stores t. A digest that exists already returns an error
	// wrapping [ErrTokenExists]. Times come back from GetToken in UTC, with
	// at least millisecond precision.
	CreateToken(ctx context.Context, t AccessToken) error

	// GetToken returns the token with the given digest, or an error wrapping
	// [ErrTokenNotFound]. It may return an expired token; the caller checks
	// ExpiresAt. A digest is matched exactly, never as a pattern.
	GetToken(ctx context.Context, digest string) (AccessToken, error)

	// DeleteToken deletes the token with the given digest. It reports
	// whether this call deleted it, so that concurrent deletions of one
	// token see exactly one true; a missing token is (false, nil).
	DeleteToken(ctx context.Context, digest string) (bool, error)

	// DeleteUserTokens deletes every token of the user and returns how many
	// (stores that expire tokens themselves may count only live ones).
	DeleteUserTokens(ctx context.Context, userID string) (int64, error)

	// DeleteExpiredTokens deletes the tokens that expired before now and
	// returns how many. Stores whose server expires documents itself (a TTL
	// index, Redis key expiry) may do nothing.
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error)
}
