package ginusers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Listing users, for administration (the console): a filter, an
// allowlisted order, and cursor pagination, which reads the next page from
// where the previous one ended through an index, never by skipping rows.

// UserSort is the order of a listing. Only these orders exist: a sort key
// is never taken from a request as a field name.
type UserSort int

const (
	// SortByEmail orders by [EmailKey] (the default). Stores serve it
	// with their unique e-mail index.
	SortByEmail UserSort = iota
	// SortByID orders by identifier, compared as strings byte by byte:
	// creation order in mongostore, whose identifiers are the hex form of
	// ObjectIDs (newest last; newest first with [UserQuery].Descending).
	SortByID
)

// String returns the sort's name as a query parameter names it: "email" or
// "id".
func (s UserSort) String() string {
	switch s {
	case SortByEmail:
		return "email"
	case SortByID:
		return "id"
	}
	return fmt.Sprintf("UserSort(%d)", int(s))
}

// ParseUserSort parses "email" or "id" (the empty string is "email").
func ParseUserSort(s string) (UserSort, bool) {
	switch s {
	case "", "email":
		return SortByEmail, true
	case "id":
		return SortByID, true
	}
	return 0, false
}

// Limits of [UserQuery].Limit.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// ErrBadCursor is returned (wrapped) by [Store.List] and
// [Manager.ListUsers] for a cursor the store did not issue or cannot parse
// (garbage, truncated or altered: a cursor comes from a URL, untrusted
// input), or one issued for another order or direction. An HTTP handler
// answers it with a 4xx.
var ErrBadCursor = errors.New("ginusers: bad listing cursor")

// UserQuery selects and orders users for [Manager.ListUsers] and
// [Manager.CountUsers].
type UserQuery struct {
	// Email, when not empty, keeps the users whose [EmailKey] contains
	// [SearchKey](Email): a case-insensitive substring search, matched
	// as text, never as a pattern. (The domain of an international address
	// is stored as its ASCII form, xn--..., and searched as such.)
	Email string
	// Active, Verified and Superuser, when not nil, keep the users whose
	// flag equals them.
	Active, Verified, Superuser *bool
	// Sort and Descending give the order.
	Sort       UserSort
	Descending bool
	// After is the cursor of the page to read: [UserPage].Next of the
	// previous page, or empty for the first page. It is opaque, and valid
	// only with the same Sort and Descending. It holds the last key of the
	// previous page (in the e-mail order, an e-mail address), so treat it
	// as personal data, like the search, in URLs and logs.
	After string
	// Limit is the page size: [DefaultListLimit] when zero, at most
	// [MaxListLimit].
	Limit int
}

// UserPage is one page of a listing.
type UserPage[F any] struct {
	// Users are the users of the page, in order.
	Users []*User[F]
	// Next is the cursor of the next page ([UserQuery].After), or empty
	// when there is none.
	Next string
}

// SearchKey returns the form of an e-mail search that stores look for in
// [EmailKey]s: NFC-normalised and in lower case, as keys are.
func SearchKey(s string) string { return strings.ToLower(norm.NFC.String(strings.TrimSpace(s))) }

// normalize checks q and applies its defaults.
func (q UserQuery) normalize() (UserQuery, error) {
	switch {
	case q.Sort != SortByEmail && q.Sort != SortByID:
		return q, fmt.Errorf("ginusers: unknown sort %v", q.Sort)
	case q.Limit < 0:
		return q, fmt.Errorf("ginusers: negative listing limit %d", q.Limit)
	case q.Limit == 0:
		q.Limit = DefaultListLimit
	case q.Limit > MaxListLimit:
		q.Limit = MaxListLimit
	}
	q.Email = SearchKey(q.Email)
	return q, nil
}

// ListUsers returns a page of the users q selects, in q's order. A cursor
// the store cannot use gives an error wrapping [ErrBadCursor]. Listing
// reads the store directly, never the user cache.
func (m *Manager[F]) ListUsers(ctx context.Context, q UserQuery) (UserPage[F], error) {
	q, err := q.normalize()
	if err != nil {
		return UserPage[F]{}, err
	}
	return m.store.List(ctx, q)
}

// CountUsers returns the number of users q selects (its order, cursor and
// limit are ignored, so any value of them is accepted: the store gets
// q's filters only). Counting reads the store directly, never the user
// cache.
func (m *Manager[F]) CountUsers(ctx context.Context, q UserQuery) (int64, error) {
	return m.store.Count(ctx, UserQuery{Email: SearchKey(q.Email), Active: q.Active, Verified: q.Verified, Superuser: q.Superuser})
}
