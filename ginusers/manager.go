package ginusers

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"time"
	"unicode/utf8"
)

// Manager manages users: registration, authentication, verification,
// password reset, updates and deletion, on top of a [Store]. Its methods
// take a context first and know nothing of HTTP, so they serve command-line
// tools and jobs as well as the routes of this package.
//
// A Manager is safe for concurrent use.
type Manager[F any] struct {
	store    Store[F]
	cfg      config
	hooks    hooks[F]
	hasher   PasswordHasher
	hashSem  chan struct{}
	backends []*Backend
	verify   *tokenCodec
	reset    *tokenCodec
	state    *tokenCodec
	sealer   *tokenSealer
	logger   *slog.Logger
	now      func() time.Time
	queue    *deliveryQueue
	cache    *userCache[F]
	// scheme is announced in WWW-Authenticate on 401 answers: that of the
	// first backend whose transport has one.
	scheme string
}

// New returns a Manager storing users in store. [WithSecret] is required.
// It returns a [*ConfigError] for an invalid configuration (see the
// options: a missing or short secret, a non-positive lifetime or bound,
// duplicate backends, conflicting options, a hook written for another user
// type, application fields F that are not a struct). New does no I/O and
// starts no goroutine.
func New[F any](store Store[F], opts ...Option) (*Manager[F], error) {
	if store == nil {
		return nil, configErrorf("store is nil")
	}
	if t := reflect.TypeFor[F](); t.Kind() != reflect.Struct {
		return nil, configErrorf("the application fields %s are not a struct", t)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	m := &Manager[F]{store: store, cfg: cfg, logger: cfg.logger, now: cfg.clock, hasher: cfg.hasher}
	if m.hooks, err = typedHooks[F](cfg.hooks); err != nil {
		return nil, err
	}
	m.hashSem = make(chan struct{}, cfg.maxHashes)
	m.queue = newDeliveryQueue(cfg.deliveryWorkers, cfg.deliveryBacklog, m.logger)
	if cfg.cacheTTL > 0 {
		m.cache = newUserCache[F](cfg.cacheTTL, cfg.cacheMax, m.now)
	}
	if m.verify, err = newTokenCodec(cfg.verifySecret, AudienceVerify, cfg.verifyLifetime); err != nil {
		return nil, err
	}
	if m.reset, err = newTokenCodec(cfg.resetSecret, AudienceReset, cfg.resetLifetime); err != nil {
		return nil, err
	}
	if m.state, err = newTokenCodec(cfg.secret, audienceOAuthState, cfg.oauthStateLife); err != nil {
		return nil, err
	}
	m.verify.clock, m.reset.clock, m.state.clock = m.now, m.now, m.now
	m.verify.audienceString, m.reset.audienceString, m.state.audienceString = true, true, true
	if len(cfg.oauthKeys) > 0 {
		if m.sealer, err = newTokenSealer(cfg.oauthKeys); err != nil {
			return nil, err
		}
	}
	m.backends = cfg.backends
	if len(m.backends) == 0 {
		s, err := NewJWTStrategy(cfg.secret, WithJWTLifetime(cfg.tokenLifetime))
		if err != nil {
			return nil, err
		}
		m.backends = []*Backend{NewBackend("jwt", NewBearerTransport(), s)}
	}
	for _, b := range m.backends {
		if cs, ok := b.strategy.(clockSetter); ok {
			cs.setClock(m.now)
		}
		if m.scheme == "" {
			m.scheme = b.transport.Scheme()
		}
	}
	if err := checkIrrevocable(m.backends); err != nil {
		return nil, err
	}
	return m, nil
}

// checkIrrevocable refuses an irrevocable JWT strategy whose tokens another,
// revocable, JWT strategy also accepts (the same secret and audience): a
// revoked token would pass through the irrevocable one, and revocation
// would be lost for every JWT.
func checkIrrevocable(backends []*Backend) error {
	for _, a := range backends {
		ja, ok := a.strategy.(*JWTStrategy)
		if !ok || !ja.irrevocable {
			continue
		}
		for _, b := range backends {
			jb, ok := b.strategy.(*JWTStrategy)
			if ok && !jb.irrevocable && jb.codec.audience == ja.codec.audience && hmac.Equal(jb.codec.key, ja.codec.key) {
				return configErrorf("backend %q is irrevocable (WithInsecureIrrevocableJWT) but accepts the tokens of the revocable backend %q (same secret and audience): give it its own audience (WithJWTAudience) or secret", a.name, b.name)
			}
		}
	}
	return nil
}

// Backends returns the manager's backends, in the order they are tried: the
// values given to [WithBackends], or the default bearer JWT backend named
// "jwt". They are the values to pass where a backend is named
// ([RequireUserFrom], [AuthRoutes], [Manager.Login]). The slice is a copy.
func (m *Manager[F]) Backends() []*Backend { return slices.Clone(m.backends) }

// hash hashes password, waiting for a hashing slot.
func (m *Manager[F]) hash(ctx context.Context, password string) (string, error) {
	if err := m.acquireHash(ctx); err != nil {
		return "", err
	}
	defer func() { <-m.hashSem }()
	return m.hasher.Hash(password)
}

// SpendHash hashes password with the Manager's hasher and settings, under
// the hashing bound, and throws the hash away: the hashing work of
// [Manager.Register], for a flow that must cost as much when it does not
// register (the account pages answer a taken address as a new one). It
// returns an error wrapping [ErrHashingBusy] when no hashing slot frees in
// time.
func (m *Manager[F]) SpendHash(ctx context.Context, password string) error {
	_, err := m.hash(ctx, password)
	return err
}

func (m *Manager[F]) verifyHash(ctx context.Context, password, hash string) (ok, rehash bool, err error) {
	if err := m.acquireHash(ctx); err != nil {
		return false, false, err
	}
	defer func() { <-m.hashSem }()
	return m.hasher.Verify(password, hash)
}

func (m *Manager[F]) acquireHash(ctx context.Context) error {
	select {
	case m.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrHashingBusy, ctx.Err())
	}
}

// ValidatePassword applies the length rule of [WithPasswordLength] and then
// every validator of [WithPasswordValidator] to password, for user u. It
// returns a [*PasswordError] when the password is refused.
func (m *Manager[F]) ValidatePassword(ctx context.Context, password string, u *User[F]) error {
	if n := utf8.RuneCountInString(password); n < m.cfg.minPasswordChars {
		return &PasswordError{Reason: fmt.Sprintf("Password should be at least %d characters", m.cfg.minPasswordChars)}
	}
	if len(password) > m.cfg.maxPasswordBytes {
		return &PasswordError{Reason: fmt.Sprintf("Password should be at most %d bytes", m.cfg.maxPasswordBytes)}
	}
	for _, v := range m.hooks.validators {
		if err := v(ctx, password, u); err != nil {
			return err
		}
	}
	return nil
}

// Register creates a user as a client may: Active, Superuser and Verified
// in `in` are ignored, so the user is active, not a superuser and not
// verified. It validates the e-mail ([NormalizeEmail]) and the password
// (validators first, as fastapi-users, so an invalid password is reported
// even for a taken address), then stores the user and runs the
// [OnAfterRegister] hooks. It returns [ErrUserExists] (wrapped) when the
// address is taken, a [*PasswordError] for a refused password.
func (m *Manager[F]) Register(ctx context.Context, in UserCreate[F]) (*User[F], error) {
	in.Active, in.Superuser, in.Verified = nil, nil, nil
	return m.Create(ctx, in)
}

// Create creates a user as an administrator or a program may: Active,
// Superuser and Verified are honoured when set. Otherwise it behaves as
// [Manager.Register].
func (m *Manager[F]) Create(ctx context.Context, in UserCreate[F]) (*User[F], error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, &EmailError{Reason: err.Error(), Input: in.Email}
	}
	u := &User[F]{Email: email, Active: true, Fields: in.Fields}
	if in.Active != nil {
		u.Active = *in.Active
	}
	if in.Superuser != nil {
		u.Superuser = *in.Superuser
	}
	if in.Verified != nil {
		u.Verified = *in.Verified
	}
	if err := m.ValidatePassword(ctx, in.Password, u); err != nil {
		return nil, err
	}
	// Checking first spares a hash for a taken address; the store's unique
	// index still decides races.
	if _, err := m.store.GetByEmail(ctx, email); err == nil {
		return nil, ErrUserExists
	} else if !errors.Is(err, ErrUserNotFound) {
		return nil, err
	}
	if u.HashedPassword, err = m.hash(ctx, in.Password); err != nil {
		return nil, err
	}
	if err := m.store.Create(ctx, u); err != nil {
		return nil, err
	}
	if err := runUserHooks(ctx, m.hooks.afterRegister, u, "after register"); err != nil {
		return u, err
	}
	return u, nil
}

// EmailError is returned for an e-mail address that is not valid.
type EmailError struct {
	// Reason says what is wrong, fit to show to the client.
	Reason string
	// Input is the address as given.
	Input string
}

func (e *EmailError) Error() string { return "ginusers: invalid email: " + e.Reason }

// Authenticate returns the active user with the given e-mail (matched
// case-insensitively, not normalised: it is a login name) and password. An
// unknown address, a wrong password and an inactive user all return
// [ErrInvalidCredentials], and all cost one password hash, so neither the
// answer nor its timing tells them apart. A correct password whose hash is
// outdated (another scheme or parameters) is re-hashed and stored.
func (m *Manager[F]) Authenticate(ctx context.Context, email, password string) (*User[F], error) {
	u, err := m.store.GetByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		// Spend the same work as a real verification, with the live
		// parameters, so timing does not reveal unknown addresses.
		if _, err := m.hash(ctx, password); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, rehash, err := m.verifyHash(ctx, password, u.HashedPassword)
	if err != nil {
		if errors.Is(err, ErrHashingBusy) {
			return nil, err
		}
		// A hash no scheme recognises: log it, refuse the login.
		m.logger.ErrorContext(ctx, "ginusers: cannot verify stored password hash", "user_id", u.ID, "error", err)
		return nil, ErrInvalidCredentials
	}
	if !ok {
		return nil, ErrInvalidCredentials
	}
	if rehash {
		// Store the upgraded hash only if the password is still the one
		// just verified: a concurrent change of password must win.
		if h, err := m.hash(ctx, password); err == nil {
			nu, err := m.write(ctx, u.ID, UserChange[F]{HashedPassword: &h}, UserCondition{HashedPassword: &u.HashedPassword})
			switch {
			case err == nil:
				u = nu
			case errors.Is(err, ErrConflict):
			default:
				m.logger.WarnContext(ctx, "ginusers: cannot store upgraded password hash", "user_id", u.ID, "error", err)
			}
		}
	}
	if !u.Active {
		return nil, ErrInvalidCredentials
	}
	return u, nil
}

// Get returns the user with the given id, or [ErrUserNotFound] (wrapped).
func (m *Manager[F]) Get(ctx context.Context, id string) (*User[F], error) {
	return m.store.Get(ctx, id)
}

// GetByEmail returns the user with the given e-mail address, compared
// case-insensitively, or [ErrUserNotFound] (wrapped).
func (m *Manager[F]) GetByEmail(ctx context.Context, email string) (*User[F], error) {
	return m.store.GetByEmail(ctx, email)
}

// Update applies upd to u as an administrator or a program may: every field
// set in upd is applied, the flags included. A new e-mail address makes the
// user unverified unless upd.Verified is set too (changing only the ASCII
// case of the address keeps the user verified, D3); it returns
// [ErrUserExists] (wrapped) if another user has it. A new password is
// validated and hashed; a refused one returns a [*PasswordError].
//
// Only the fields upd sets are written, in one write, so a concurrent
// change of another field (a deactivation by an administrator while the
// user edits their name) is never undone. A new password or a
// deactivation ends every session of the user (see [User.SessionEpoch]).
// u is updated in place from the stored result and returned, then the
// [OnAfterUpdate] hooks run.
func (m *Manager[F]) Update(ctx context.Context, u *User[F], upd UserUpdate[F]) (*User[F], error) {
	return m.update(ctx, u, upd, false)
}

// UpdateSafe applies upd to u as the user may change themself: Active,
// Superuser and Verified are ignored, and the change is written only while
// the user is still active and their sessions have not been ended since u
// was read (u's session epoch is still theirs). An inactive user gets
// [ErrUserInactive], and a user whose sessions were ended meanwhile (by a
// password reset, a password change or logging out everywhere in another
// request) gets [ErrSessionEnded]: a request that was already in flight
// when the session died writes nothing. Otherwise it behaves as
// [Manager.Update].
func (m *Manager[F]) UpdateSafe(ctx context.Context, u *User[F], upd UserUpdate[F]) (*User[F], error) {
	upd.Active, upd.Superuser, upd.Verified = nil, nil, nil
	return m.update(ctx, u, upd, true)
}

// maxConflicts bounds how often an update is decided again on a fresh read
// when the user changed between the read and the write.
const maxConflicts = 4

func (m *Manager[F]) update(ctx context.Context, u *User[F], upd UserUpdate[F], safe bool) (*User[F], error) {
	var email string
	if upd.Email != nil {
		e, err := NormalizeEmail(*upd.Email)
		if err != nil {
			return nil, &EmailError{Reason: err.Error(), Input: *upd.Email}
		}
		email = e
	}
	var fieldNames []string
	if upd.Fields != nil {
		var err error
		if fieldNames, err = goFieldNames[F](upd.FieldNames); err != nil {
			return nil, err
		}
	}
	if safe && !u.Active {
		return nil, ErrUserInactive
	}
	var hashed string
	cur := u
	epoch := u.SessionEpoch // the epoch of the session u was loaded for
	for attempt := 1; ; attempt++ {
		var ch UserChange[F]
		var when UserCondition
		if safe {
			// A user's own change is written only while they are active and
			// the session that asked for it lives: if their sessions were
			// ended meanwhile (a reset, a password change, logout-all), a
			// request that was already in flight must not write.
			when.Active, when.SessionEpoch = ptrTo(true), ptrTo(epoch)
		}
		next := *cur
		if upd.Email != nil {
			switch {
			case email == cur.Email:
			case sameMailbox(email, cur.Email):
				// Only the ASCII case changed: the same mailbox, still
				// verified, provided it is still the stored address.
				ch.Email, when.Email = &email, ptrTo(cur.Email)
				next.Email = email
			default:
				if other, err := m.store.GetByEmail(ctx, email); err == nil && other.ID != cur.ID {
					return nil, ErrUserExists
				} else if err != nil && !errors.Is(err, ErrUserNotFound) {
					return nil, err
				}
				ch.Email, ch.Verified = &email, ptrTo(false)
				next.Email, next.Verified = email, false
			}
		}
		ch.Active, ch.Superuser = upd.Active, upd.Superuser
		if upd.Verified != nil {
			ch.Verified = upd.Verified
		}
		if upd.Fields != nil {
			ch.Fields, ch.FieldNames = *upd.Fields, fieldNames
			next.Fields = *upd.Fields
		}
		if upd.Password != nil {
			if hashed == "" {
				if err := m.ValidatePassword(ctx, *upd.Password, &next); err != nil {
					return nil, err
				}
				h, err := m.hash(ctx, *upd.Password)
				if err != nil {
					return nil, err
				}
				hashed = h
			}
			ch.HashedPassword = &hashed
		}
		// A new password or a deactivation ends every session of the user.
		if upd.Password != nil || upd.Active != nil && !*upd.Active {
			ch.SessionEpoch = ptrTo(newEpoch())
		}
		if ch.IsZero() {
			break
		}
		nu, err := m.write(ctx, cur.ID, ch, when)
		if errors.Is(err, ErrConflict) && attempt < maxConflicts {
			// The user changed since the read: decide again on a fresh one.
			if cur, err = m.store.Get(ctx, cur.ID); err != nil {
				return nil, err
			}
			if safe && !cur.Active {
				return nil, ErrUserInactive
			}
			if safe && cur.SessionEpoch != epoch {
				return nil, fmt.Errorf("%w: the user's sessions were ended", ErrSessionEnded)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		*u = *nu
		if ch.SessionEpoch != nil {
			if err := m.revokeTokens(ctx, u.ID); err != nil {
				return u, err
			}
		}
		break
	}
	changes := upd.changes(safe)
	return u, runHooks("after update", m.hooks.afterUpdate, func(fn UpdateHook[F]) error { return fn(ctx, u, changes) })
}

// write stores ch under when and keeps the user cache coherent: the entry
// is dropped after the write, and a read that began before it cannot put
// the old user back (see userCache).
func (m *Manager[F]) write(ctx context.Context, id string, ch UserChange[F], when UserCondition) (*User[F], error) {
	u, err := m.store.Update(ctx, id, ch, when)
	m.forget(id)
	return u, err
}

// sameMailbox reports whether a and b differ at most in the case of ASCII
// letters, which is all that may change while the user stays verified
// (D3): any other difference, a Unicode case variant included, is another
// address.
func sameMailbox(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func ptrTo[T any](v T) *T { return &v }

// newEpoch returns a new random session epoch.
func newEpoch() string { return rand.Text() }

// Delete runs the [OnBeforeDelete] hooks, deletes u, then runs the
// [OnAfterDelete] hooks. A before-delete hook's error cancels the deletion.
// The user's stored tokens are deleted; their JWTs die with the user.
func (m *Manager[F]) Delete(ctx context.Context, u *User[F]) error {
	return m.DeleteIf(ctx, u, UserCondition{})
}

// DeleteIf is [Manager.Delete] of a user that must still meet when at the
// moment of the deletion (the store checks it in the same write): a
// decision made on a read, such as "this user is not a superuser", holds
// for the write. It returns an error wrapping [ErrConflict], and deletes
// nothing, when the user no longer meets when; the after-delete hooks do
// not run then.
func (m *Manager[F]) DeleteIf(ctx context.Context, u *User[F], when UserCondition) error {
	if err := runUserHooks(ctx, m.hooks.beforeDelete, u, "before delete"); err != nil {
		return err
	}
	err := m.store.Delete(ctx, u.ID, when)
	m.forget(u.ID)
	if err != nil {
		return err
	}
	if err := m.revokeTokens(ctx, u.ID); err != nil {
		return err
	}
	return runUserHooks(ctx, m.hooks.afterDelete, u, "after delete")
}

// LogoutAll ends every session of u, whatever the backend: the user gets a
// new session epoch, so every token issued until now is refused (JWTs
// included, unless their strategy opted out with
// [WithInsecureIrrevocableJWT]), and the tokens of [Revoker] strategies are
// deleted. u is updated in place.
func (m *Manager[F]) LogoutAll(ctx context.Context, u *User[F]) error {
	nu, err := m.write(ctx, u.ID, UserChange[F]{SessionEpoch: ptrTo(newEpoch())}, UserCondition{})
	if err != nil {
		return err
	}
	*u = *nu
	return m.revokeTokens(ctx, u.ID)
}

// revokeTokens deletes the user's tokens in every backend that can.
func (m *Manager[F]) revokeTokens(ctx context.Context, userID string) error {
	var errs []error
	for _, b := range m.backends {
		if r, ok := b.strategy.(Revoker); ok {
			if err := r.RevokeAll(ctx, userID); err != nil {
				errs = append(errs, fmt.Errorf("ginusers: revoke tokens of backend %s: %w", b.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// VerifyPassword reports whether password is u's current password. It costs
// one password hash. It does not check that u is active, and does not
// upgrade the stored hash (see [Manager.Authenticate]).
func (m *Manager[F]) VerifyPassword(ctx context.Context, u *User[F], password string) (bool, error) {
	ok, _, err := m.verifyHash(ctx, password, u.HashedPassword)
	return ok, err
}
