package ginusers

import "context"

// Store persists users. Implementations must be safe for concurrent use.
// Every method takes the request's context first and must honour its
// cancellation. Run [github.com/ginusers/kit/ginusers/storetest.Run] against
// an implementation to check it keeps this contract.
//
// E-mail addresses reach the store already normalised by the [Manager]; the
// store stores them as given and compares them by [EmailKey], so uniqueness
// and lookup are case-insensitive.
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
	// user, and one wrapping [ErrUserNotFound] when u.ID does not exist.
	Update(ctx context.Context, u *User[F]) error

	// Delete removes the user with the given id. It returns an error wrapping
	// [ErrUserNotFound] when there is none.
	Delete(ctx context.Context, id string) error
}
