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

	// Update applies ch to the user with the given id in one write, but
	// only if every condition of when holds at the moment of the write,
	// and returns the user as written. Only the fields ch sets are
	// written: a concurrent write of another field is never undone, and a
	// field no longer matching when is never overwritten. On a server with
	// atomic single-document updates (MongoDB) this holds across processes
	// sharing the database; see the implementation for weaker servers.
	//
	// It returns an error wrapping [ErrUserNotFound] when no user has the
	// id (or the id cannot be parsed), one wrapping [ErrConflict] when the
	// user exists but a condition does not hold, and one wrapping
	// [ErrUserExists] when the new e-mail belongs to another user; in all
	// three cases nothing changes. It never creates a user. It leaves
	// stored fields it does not know alone (another service sharing the
	// data may have written them).
	Update(ctx context.Context, id string, ch UserChange[F], when UserCondition) (*User[F], error)

	// Delete removes the user with the given id when the stored user meets
	// when, checked by the store in the same write (as for Update). It
	// returns an error wrapping [ErrUserNotFound] when there is none, and
	// one wrapping [ErrConflict] when the user does not meet when; in both
	// cases nothing is deleted.
	Delete(ctx context.Context, id string, when UserCondition) error

	// List returns the page of users that q selects, in q's order (ties
	// cannot happen: both orders are by a unique key). q comes normalised
	// by the [Manager]: q.Email is a [SearchKey] (to find as a substring of
	// the stored [EmailKey], as text), 1 <= q.Limit <= [MaxListLimit] (a
	// store may refuse another limit with an error). The
	// page starts after the cursor q.After, which the store issued as
	// [UserPage].Next; a cursor it cannot parse (garbage, or one of its own
	// truncated or altered: a store checks its cursors' integrity, so such a
	// cursor is never read as another position), or one issued for another
	// order or direction, gives an error wrapping [ErrBadCursor]. A page
	// with a Next is full (q.Limit users), and Next is empty exactly on the
	// last page, also when that page is full. A page is read from the
	// cursor on through an index on the sort key, never by skipping rows.
	// Users created or deleted between two pages are seen or not, but no
	// user that stays is seen twice or missed. The e-mail order compares
	// [EmailKey]s byte by byte, the ID order identifiers as strings byte by
	// byte.
	List(ctx context.Context, q UserQuery) (UserPage[F], error)

	// Count returns the number of users that q's filters select: as many
	// as the pages of List return. It ignores q's order, cursor and limit.
	Count(ctx context.Context, q UserQuery) (int64, error)
}

// UserChange is a change to some fields of a stored user, written by
// [Store.Update]. A nil field is left as it is.
type UserChange[F any] struct {
	// Email replaces the address (the store recomputes its [EmailKey]).
	Email *string
	// HashedPassword replaces the password hash.
	HashedPassword *string
	// Active, Superuser and Verified replace the flags.
	Active, Superuser, Verified *bool
	// SessionEpoch replaces the user's session epoch, which ends every
	// session issued under the previous one. Setting it also empties
	// RevokedTokens (the tokens listed there belonged to the old epoch).
	SessionEpoch *string
	// Fields holds the new values of the application fields named in
	// FieldNames; its other fields are ignored.
	Fields F
	// FieldNames lists the Go names of the fields of F to write (top-level
	// or promoted fields, as [reflect.Type.FieldByName] finds them).
	FieldNames []string
	// RevokeTokens adds entries to the user's RevokedTokens (token id to
	// the time the token expires). It must be empty when SessionEpoch is set.
	RevokeTokens map[string]time.Time
	// ForgetTokens removes entries from the user's RevokedTokens (tokens
	// that have expired anyway). A missing entry is not an error.
	ForgetTokens []string
}

// IsZero reports whether ch changes nothing.
func (ch *UserChange[F]) IsZero() bool {
	return ch.Email == nil && ch.HashedPassword == nil && ch.Active == nil && ch.Superuser == nil &&
		ch.Verified == nil && ch.SessionEpoch == nil && len(ch.FieldNames) == 0 &&
		len(ch.RevokeTokens) == 0 && len(ch.ForgetTokens) == 0
}

// UserCondition lists what must hold of a stored user for [Store.Update]
// to write a change: the decisions a caller made on an earlier read (a
// password fingerprint, a flag, the address a token was issued for) are
// checked again by the store, in the same write. A nil field is no
// condition.
type UserCondition struct {
	// HashedPassword: the stored hash equals it.
	HashedPassword *string
	// Email: the stored address is exactly it (not only the same
	// [EmailKey]: a decision about an address, such as its verification,
	// holds for that address only).
	Email *string
	// Active, Verified and Superuser: the stored flags equal them.
	Active, Verified, Superuser *bool
	// SessionEpoch: the stored session epoch equals it.
	SessionEpoch *string
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
	// Epoch is the user's session epoch when the token was issued; the
	// token works only while the user's epoch is the same.
	Epoch string
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

// OAuthStore is implemented by stores that keep the OAuth accounts of
// users ([User.OAuthAccounts]) and find users by them. The OAuth verbs of
// the [Manager] ([Manager.OAuthCallback], [Manager.OAuthAssociate]) need
// it; they return [ErrOAuthUnsupported] for a store without it. Run
// [github.com/ginusers/kit/ginusers/storetest.RunOAuth] against an
// implementation to check it keeps this contract.
//
// One provider account is linked to at most one user: a store that
// implements OAuthStore refuses, in [Store.Create] and AddOAuthAccount,
// an account (OAuthName and AccountID) that a user has already, with an
// error wrapping [ErrOAuthAccountTaken]; of concurrent writes that link
// one account, exactly one wins. [Store.Create] stores u.OAuthAccounts with
// the user (and sets the ID of each entry that has none). [Store.Update]
// leaves the accounts alone. The store stores tokens as it is given them:
// the Manager seals them first.
type OAuthStore[F any] interface {
	// GetByOAuthAccount returns the user who has an account entry whose
	// OAuthName is oauthName and whose AccountID is accountID, both in the
	// same entry, or an error wrapping [ErrUserNotFound]. Both are matched
	// exactly, never as patterns.
	GetByOAuthAccount(ctx context.Context, oauthName, accountID string) (*User[F], error)

	// AddOAuthAccount appends acc to the accounts of the user with the
	// given id, if every condition of when holds (as for [Store.Update]),
	// and returns the user as written; it sets acc's ID when empty. It
	// returns an error wrapping [ErrOAuthAccountTaken] when a user (this
	// one included) has an entry with acc's OAuthName and AccountID,
	// [ErrUserNotFound] when there is no such user, [ErrConflict] when a
	// condition does not hold; in those cases nothing changes.
	AddOAuthAccount(ctx context.Context, id string, acc OAuthAccount, when UserCondition) (*User[F], error)

	// UpdateOAuthAccount replaces AccountEmail, AccessToken, RefreshToken
	// and ExpiresAt of the entry of the user with the given id whose
	// OAuthName and AccountID are acc's, and returns the user as written.
	// Other entries and fields are left alone. It returns an error
	// wrapping [ErrUserNotFound] when there is no such user, and one
	// wrapping [ErrOAuthAccountNotFound] when the user has no such entry.
	UpdateOAuthAccount(ctx context.Context, id string, acc OAuthAccount) (*User[F], error)
}
