package storetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// MemStore is an in-memory [ginusers.Store], for tests and examples. It
// keeps nothing on disk and suits no production use.
//
// Identifiers are random 32-character hexadecimal strings. E-mail addresses
// are stored as given and compared by [ginusers.EmailKey]. MemStore stores
// and returns copies: a caller that changes a *User after Create or Update,
// or one returned by Get, does not change the store. The copy of the
// application's fields is deep (through pointers, slices, maps and exported
// struct fields); unexported struct fields are copied shallowly.
// The expiry times of revoked tokens are stored in UTC with millisecond
// precision, as BSON dates are.
//
// The zero value is an empty store ready to use. A MemStore is safe for
// concurrent use; it must not be copied after first use.
type MemStore[F any] struct {
	mu      sync.Mutex
	users   map[string]*ginusers.User[F] // by ID
	byEmail map[string]string            // EmailKey -> ID
}

var (
	_ ginusers.Store[ginusers.NoFields]      = (*MemStore[ginusers.NoFields])(nil)
	_ ginusers.OAuthStore[ginusers.NoFields] = (*MemStore[ginusers.NoFields])(nil)
)

// NewMemStore returns an empty MemStore.
func NewMemStore[F any]() *MemStore[F] { return &MemStore[F]{} }

// init allocates the maps; s.mu must be held.
func (s *MemStore[F]) init() {
	if s.users == nil {
		s.users = map[string]*ginusers.User[F]{}
		s.byEmail = map[string]string{}
	}
}

// Len returns the number of users in the store.
func (s *MemStore[F]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// Create stores a copy of u under a new random ID and sets u.ID to it; any
// ID the caller set is ignored. It returns an error wrapping
// [ginusers.ErrUserExists] if another user has the same
// [ginusers.EmailKey], and the context's error if ctx is done.
func (s *MemStore[F]) Create(ctx context.Context, u *ginusers.User[F]) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storetest: create user: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	key := ginusers.EmailKey(u.Email)
	if _, ok := s.byEmail[key]; ok {
		return fmt.Errorf("storetest: create user: %w", ginusers.ErrUserExists)
	}
	for i, a := range u.OAuthAccounts {
		if s.oauthOwner(a.OAuthName, a.AccountID) != nil || slices.ContainsFunc(u.OAuthAccounts[:i], func(b ginusers.OAuthAccount) bool {
			return b.OAuthName == a.OAuthName && b.AccountID == a.AccountID
		}) {
			return fmt.Errorf("storetest: create user: %w", ginusers.ErrOAuthAccountTaken)
		}
	}
	id := newID()
	for s.users[id] != nil {
		id = newID()
	}
	for i := range u.OAuthAccounts {
		if u.OAuthAccounts[i].ID == "" {
			u.OAuthAccounts[i].ID = newID()[:24]
		}
	}
	c := storedUser(u)
	c.ID = id
	s.users[id] = c
	s.byEmail[key] = id
	u.ID = id
	return nil
}

// Get returns a copy of the user with the given id, or an error wrapping
// [ginusers.ErrUserNotFound].
func (s *MemStore[F]) Get(ctx context.Context, id string) (*ginusers.User[F], error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storetest: get user: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("storetest: get user: %w", ginusers.ErrUserNotFound)
	}
	return cloneUser(u), nil
}

// GetByEmail returns a copy of the user whose [ginusers.EmailKey] equals
// that of email, or an error wrapping [ginusers.ErrUserNotFound].
func (s *MemStore[F]) GetByEmail(ctx context.Context, email string) (*ginusers.User[F], error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storetest: get user by email: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byEmail[ginusers.EmailKey(email)]
	if !ok {
		return nil, fmt.Errorf("storetest: get user by email: %w", ginusers.ErrUserNotFound)
	}
	return cloneUser(s.users[id]), nil
}

// Update applies ch to the stored user id if when holds, under the
// store's lock, and returns a copy of the result. It returns an error
// wrapping [ginusers.ErrUserNotFound] if there is no such user,
// [ginusers.ErrConflict] if a condition does not hold, and
// [ginusers.ErrUserExists] if another user has the new address's
// [ginusers.EmailKey]; in those cases nothing changes. A name in
// ch.FieldNames that is not a field of F is an error.
func (s *MemStore[F]) Update(ctx context.Context, id string, ch ginusers.UserChange[F], when ginusers.UserCondition) (*ginusers.User[F], error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storetest: update user: %w", err)
	}
	if ch.SessionEpoch != nil && len(ch.RevokeTokens) > 0 {
		return nil, errors.New("storetest: update user: RevokeTokens with a new SessionEpoch")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("storetest: update user: %w", ginusers.ErrUserNotFound)
	}
	if !holds(old, when) {
		return nil, fmt.Errorf("storetest: update user: %w", ginusers.ErrConflict)
	}
	next := cloneUser(old)
	if ch.Email != nil {
		newKey := ginusers.EmailKey(*ch.Email)
		if owner, taken := s.byEmail[newKey]; taken && owner != id {
			return nil, fmt.Errorf("storetest: update user: %w", ginusers.ErrUserExists)
		}
		next.Email = *ch.Email
	}
	if ch.HashedPassword != nil {
		next.HashedPassword = *ch.HashedPassword
	}
	if ch.Active != nil {
		next.Active = *ch.Active
	}
	if ch.Superuser != nil {
		next.Superuser = *ch.Superuser
	}
	if ch.Verified != nil {
		next.Verified = *ch.Verified
	}
	if ch.SessionEpoch != nil {
		next.SessionEpoch = *ch.SessionEpoch
		next.RevokedTokens = nil
	}
	if len(ch.RevokeTokens) > 0 || len(ch.ForgetTokens) > 0 {
		revoked := make(map[string]time.Time, len(next.RevokedTokens)+len(ch.RevokeTokens))
		for k, v := range next.RevokedTokens {
			revoked[k] = v
		}
		for _, k := range ch.ForgetTokens {
			delete(revoked, k)
		}
		for k, v := range ch.RevokeTokens {
			revoked[k] = v
		}
		if len(revoked) == 0 {
			revoked = nil
		}
		next.RevokedTokens = revoked
	}
	if len(ch.FieldNames) > 0 {
		src := reflect.ValueOf(&ch.Fields).Elem()
		dst := reflect.ValueOf(&next.Fields).Elem()
		if src.Kind() != reflect.Struct {
			return nil, fmt.Errorf("storetest: update user: the application fields %s are not a struct", src.Type())
		}
		for _, name := range ch.FieldNames {
			sf, dfield := src.FieldByName(name), dst.FieldByName(name)
			if !sf.IsValid() || !dfield.CanSet() {
				return nil, fmt.Errorf("storetest: update user: %s has no settable field %q", src.Type(), name)
			}
			copyValue(dfield, sf, map[copyKey]reflect.Value{})
		}
	}
	delete(s.byEmail, ginusers.EmailKey(old.Email))
	s.byEmail[ginusers.EmailKey(next.Email)] = id
	s.users[id] = storedUser(next)
	return cloneUser(s.users[id]), nil
}

// holds reports whether u meets when.
func holds[F any](u *ginusers.User[F], when ginusers.UserCondition) bool {
	switch {
	case when.HashedPassword != nil && u.HashedPassword != *when.HashedPassword,
		when.Email != nil && u.Email != *when.Email,
		when.Active != nil && u.Active != *when.Active,
		when.Verified != nil && u.Verified != *when.Verified,
		when.Superuser != nil && u.Superuser != *when.Superuser,
		when.SessionEpoch != nil && u.SessionEpoch != *when.SessionEpoch:
		return false
	}
	return true
}

// Delete removes the user with the given id if it meets when. It returns
// an error wrapping [ginusers.ErrUserNotFound] if there is none, and
// [ginusers.ErrConflict] if it does not meet when.
func (s *MemStore[F]) Delete(ctx context.Context, id string, when ginusers.UserCondition) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storetest: delete user: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return fmt.Errorf("storetest: delete user: %w", ginusers.ErrUserNotFound)
	}
	if !holds(u, when) {
		return fmt.Errorf("storetest: delete user: %w", ginusers.ErrConflict)
	}
	delete(s.byEmail, ginusers.EmailKey(u.Email))
	delete(s.users, id)
	return nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// storedUser returns the copy of u that the store keeps: the expiry times
// of revoked tokens in UTC with millisecond precision, as BSON dates are.
func storedUser[F any](u *ginusers.User[F]) *ginusers.User[F] {
	c := cloneUser(u)
	if len(c.RevokedTokens) > 0 {
		r := make(map[string]time.Time, len(c.RevokedTokens))
		for k, v := range c.RevokedTokens {
			r[k] = v.Truncate(time.Millisecond).UTC()
		}
		c.RevokedTokens = r
	} else {
		c.RevokedTokens = nil
	}
	for i := range c.OAuthAccounts {
		c.OAuthAccounts[i].ExpiresAt = storedExpiry(c.OAuthAccounts[i].ExpiresAt)
	}
	if len(c.OAuthAccounts) == 0 {
		c.OAuthAccounts = nil
	}
	return c
}

// storedExpiry is an account's expiry as stored: whole seconds in UTC (an
// integer of seconds in fastapi-users' layout), zero for none.
func storedExpiry(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(t.Unix(), 0).UTC()
}

// cloneUser returns a deep copy of u.
func cloneUser[F any](u *ginusers.User[F]) *ginusers.User[F] {
	c := *u
	c.Fields = deepCopy(u.Fields)
	c.RevokedTokens = maps.Clone(u.RevokedTokens)
	c.OAuthAccounts = slices.Clone(u.OAuthAccounts)
	return &c
}

// deepCopy copies v through pointers, slices, maps, arrays, interfaces and
// exported struct fields. Unexported struct fields are copied shallowly
// (they cannot be set through reflection), and so are channels and funcs.
func deepCopy[T any](v T) T {
	var out T
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.ValueOf(&out).Elem()
	copyValue(dst, src, map[copyKey]reflect.Value{})
	return out
}

// copyKey identifies a pointer already copied, so shared and cyclic
// pointers keep their shape in the copy.
type copyKey struct {
	t reflect.Type
	p uintptr
}

func copyValue(dst, src reflect.Value, seen map[copyKey]reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		k := copyKey{src.Type(), src.Pointer()}
		if p, ok := seen[k]; ok {
			dst.Set(p)
			return
		}
		p := reflect.New(src.Type().Elem())
		seen[k] = p
		copyValue(p.Elem(), src.Elem(), seen)
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyValue(s.Index(i), src.Index(i), seen)
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			copyValue(v, it.Value(), seen)
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	case reflect.Array:
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i), seen)
		}
	case reflect.Struct:
		dst.Set(src)
		for i := range src.NumField() {
			if f := dst.Field(i); f.CanSet() {
				copyValue(f, src.Field(i), seen)
			}
		}
	case reflect.Interface:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		v := reflect.New(src.Elem().Type()).Elem()
		copyValue(v, src.Elem(), seen)
		dst.Set(v)
	default:
		dst.Set(src)
	}
}

// List implements [ginusers.Store]: it orders the matching users by the
// sort key (the [ginusers.EmailKey] or the ID, compared byte by byte) and
// returns those after the cursor, sorting every matching user on every
// call, which suits tests. The cursor holds the order and the last key of
// the page, with a checksum, so a truncated or altered cursor, or one
// issued for another order, gives an error wrapping
// [ginusers.ErrBadCursor].
func (s *MemStore[F]) List(ctx context.Context, q ginusers.UserQuery) (ginusers.UserPage[F], error) {
	if err := ctx.Err(); err != nil {
		return ginusers.UserPage[F]{}, fmt.Errorf("storetest: list users: %w", err)
	}
	if q.Limit < 1 || q.Limit > ginusers.MaxListLimit {
		return ginusers.UserPage[F]{}, fmt.Errorf("storetest: list users: limit %d out of range (the Manager normalises it)", q.Limit)
	}
	order := memOrder(q)
	var after string
	if q.After != "" {
		key, ok := parseMemCursor(q.After, order)
		if !ok {
			return ginusers.UserPage[F]{}, fmt.Errorf("storetest: list users: %w", ginusers.ErrBadCursor)
		}
		after = key
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type entry struct {
		key string
		u   *ginusers.User[F]
	}
	var matched []entry
	for _, u := range s.users {
		if !memMatches(u, q) {
			continue
		}
		key := ginusers.EmailKey(u.Email)
		if q.Sort == ginusers.SortByID {
			key = u.ID
		}
		if q.After != "" && (!q.Descending && key <= after || q.Descending && key >= after) {
			continue
		}
		matched = append(matched, entry{key, u})
	}
	slices.SortFunc(matched, func(a, b entry) int {
		if q.Descending {
			return strings.Compare(b.key, a.key)
		}
		return strings.Compare(a.key, b.key)
	})
	var page ginusers.UserPage[F]
	for i, e := range matched {
		if i == q.Limit {
			page.Next = memCursor(order, matched[i-1].key)
			break
		}
		page.Users = append(page.Users, cloneUser(e.u))
	}
	return page, nil
}

// Count implements [ginusers.Store]: it counts the users that q's filters
// select (its order, cursor and limit are ignored).
func (s *MemStore[F]) Count(ctx context.Context, q ginusers.UserQuery) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storetest: count users: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, u := range s.users {
		if memMatches(u, q) {
			n++
		}
	}
	return n, nil
}

// memOrder names the order of q in its cursors.
func memOrder(q ginusers.UserQuery) string {
	if q.Descending {
		return q.Sort.String() + "-desc"
	}
	return q.Sort.String()
}

// cursorEncoding encodes cursors for URLs. Strict: a cursor whose last
// character carries stray bits is not another spelling of a valid one.
var cursorEncoding = base64.RawURLEncoding.Strict()

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// memCursor encodes the position after key in an order: the order, a NUL,
// the key, then the CRC-32C of those bytes, which makes a truncated or
// altered cursor fail to parse.
func memCursor(order, key string) string {
	b := append([]byte(order+"\x00"), key...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return cursorEncoding.EncodeToString(b)
}

// parseMemCursor returns the key of a cursor made by memCursor for order.
func parseMemCursor(c, order string) (string, bool) {
	if strings.ContainsAny(c, "\r\n") { // skipped by the decoder
		return "", false
	}
	b, err := cursorEncoding.DecodeString(c)
	if err != nil || len(b) < 4 {
		return "", false
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return "", false
	}
	o, key, ok := strings.Cut(string(body), "\x00")
	if !ok || o != order {
		return "", false
	}
	return key, true
}

// memMatches reports whether u passes q's filters.
func memMatches[F any](u *ginusers.User[F], q ginusers.UserQuery) bool {
	return (q.Email == "" || strings.Contains(ginusers.EmailKey(u.Email), q.Email)) &&
		(q.Active == nil || *q.Active == u.Active) &&
		(q.Verified == nil || *q.Verified == u.Verified) &&
		(q.Superuser == nil || *q.Superuser == u.Superuser)
}

// oauthOwner returns the user with an account entry (oauthName,
// accountID), or nil; s.mu must be held.
func (s *MemStore[F]) oauthOwner(oauthName, accountID string) *ginusers.User[F] {
	for _, u := range s.users {
		for _, a := range u.OAuthAccounts {
			if a.OAuthName == oauthName && a.AccountID == accountID {
				return u
			}
		}
	}
	return nil
}

// GetByOAuthAccount implements [ginusers.OAuthStore].
func (s *MemStore[F]) GetByOAuthAccount(ctx context.Context, oauthName, accountID string) (*ginusers.User[F], error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storetest: get user by oauth account: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.oauthOwner(oauthName, accountID)
	if u == nil {
		return nil, fmt.Errorf("storetest: get user by oauth account: %w", ginusers.ErrUserNotFound)
	}
	return cloneUser(u), nil
}

// AddOAuthAccount implements [ginusers.OAuthStore], under the store's
// lock.
func (s *MemStore[F]) AddOAuthAccount(ctx context.Context, id string, acc ginusers.OAuthAccount, when ginusers.UserCondition) (*ginusers.User[F], error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storetest: add oauth account: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	switch {
	case !ok:
		return nil, fmt.Errorf("storetest: add oauth account: %w", ginusers.ErrUserNotFound)
	case !holds(old, when):
		return nil, fmt.Errorf("storetest: add oauth account: %w", ginusers.ErrConflict)
	case s.oauthOwner(acc.OAuthName, acc.AccountID) != nil:
		return nil, fmt.Errorf("storetest: add oauth account: %w", ginusers.ErrOAuthAccountTaken)
	}
	if acc.ID == "" {
		acc.ID = newID()[:24]
	}
	next := cloneUser(old)
	next.OAuthAccounts = append(next.OAuthAccounts, acc)
	s.users[id] = storedUser(next)
	return cloneUser(s.users[id]), nil
}

// UpdateOAuthAccount implements [ginusers.OAuthStore].
func (s *MemStore[F]) UpdateOAuthAccount(ctx context.Context, id string, acc ginusers.OAuthAccount) (*ginusers.User[F], error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storetest: update oauth account: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("storetest: update oauth account: %w", ginusers.ErrUserNotFound)
	}
	next := cloneUser(old)
	i := slices.IndexFunc(next.OAuthAccounts, func(a ginusers.OAuthAccount) bool {
		return a.OAuthName == acc.OAuthName && a.AccountID == acc.AccountID
	})
	if i < 0 {
		return nil, fmt.Errorf("storetest: update oauth account: %w", ginusers.ErrOAuthAccountNotFound)
	}
	e := &next.OAuthAccounts[i]
	e.AccountEmail, e.AccessToken, e.RefreshToken, e.ExpiresAt = acc.AccountEmail, acc.AccessToken, acc.RefreshToken, acc.ExpiresAt
	s.users[id] = storedUser(next)
	return cloneUser(s.users[id]), nil
}
