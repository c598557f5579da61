package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"reflect"
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
// TokensValidAfter is stored in UTC with millisecond precision, as a BSON
// date is.
//
// The zero value is an empty store ready to use. A MemStore is safe for
// concurrent use; it must not be copied after first use.
type MemStore[F any] struct {
	mu      sync.Mutex
	users   map[string]*ginusers.User[F] // by ID
	byEmail map[string]string            // EmailKey -> ID
}

var _ ginusers.Store[ginusers.NoFields] = (*MemStore[ginusers.NoFields])(nil)

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
	id := newID()
	for s.users[id] != nil {
		id = newID()
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

// Update replaces the stored user u.ID with a copy of u. It returns an error
// wrapping [ginusers.ErrUserNotFound] if there is no such user, and one
// wrapping [ginusers.ErrUserExists] if another user has the same
// [ginusers.EmailKey]; in both cases nothing changes.
func (s *MemStore[F]) Update(ctx context.Context, u *ginusers.User[F]) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storetest: update user: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[u.ID]
	if !ok {
		return fmt.Errorf("storetest: update user: %w", ginusers.ErrUserNotFound)
	}
	oldKey, newKey := ginusers.EmailKey(old.Email), ginusers.EmailKey(u.Email)
	if owner, taken := s.byEmail[newKey]; taken && owner != u.ID {
		return fmt.Errorf("storetest: update user: %w", ginusers.ErrUserExists)
	}
	delete(s.byEmail, oldKey)
	s.byEmail[newKey] = u.ID
	s.users[u.ID] = storedUser(u)
	return nil
}

// Delete removes the user with the given id. It returns an error wrapping
// [ginusers.ErrUserNotFound] if there is none.
func (s *MemStore[F]) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storetest: delete user: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return fmt.Errorf("storetest: delete user: %w", ginusers.ErrUserNotFound)
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

// storedUser returns the copy of u that the store keeps.
func storedUser[F any](u *ginusers.User[F]) *ginusers.User[F] {
	c := cloneUser(u)
	if !c.TokensValidAfter.IsZero() {
		c.TokensValidAfter = c.TokensValidAfter.Truncate(time.Millisecond).UTC()
	}
	return c
}

// cloneUser returns a deep copy of u.
func cloneUser[F any](u *ginusers.User[F]) *ginusers.User[F] {
	c := *u
	c.Fields = deepCopy(u.Fields)
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
