package ginusers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"
)

// RequestVerify issues an e-mail verification token for u and passes it to
// the [OnAfterRequestVerify] hooks, which deliver it. It returns
// [ErrUserInactive] for an inactive user and [ErrAlreadyVerified] for a
// verified one, and issues nothing then. The token is a JWT with claims sub
// (the user id), email (the current address) and aud
// "fastapi-users:verify", valid for [WithVerifyLifetime] (one hour).
func (m *Manager[F]) RequestVerify(ctx context.Context, u *User[F]) error {
	if !u.Active {
		return ErrUserInactive
	}
	if u.Verified {
		return ErrAlreadyVerified
	}
	token, err := m.verify.issue(u.ID, map[string]any{"email": u.Email})
	if err != nil {
		return err
	}
	for _, fn := range m.hooks.afterRequestVerify {
		if err := fn(ctx, u, token); err != nil {
			return fmt.Errorf("ginusers: after request-verify hook: %w", err)
		}
	}
	return nil
}

// Verify marks the user of a verification token verified, stores it, runs
// the [OnAfterVerify] hooks and returns the user. The token is refused with
// [ErrInvalidToken] (wrapped) when it is malformed, forged, expired, made
// for another purpose, or when its e-mail no longer belongs to the user it
// was issued to; a verified user gives [ErrAlreadyVerified], so a token
// works once. Inactive users can be verified, as in fastapi-users.
func (m *Manager[F]) Verify(ctx context.Context, token string) (*User[F], error) {
	tok, err := m.verify.parse(token)
	if err != nil {
		return nil, err
	}
	sub, email := tok.Sub, tok.Email
	if sub == "" || email == "" {
		return nil, fmt.Errorf("%w: missing sub or email", ErrInvalidToken)
	}
	unlock := m.locks.lock(sub)
	defer unlock()
	u, err := m.store.GetByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		return nil, fmt.Errorf("%w: no user has that e-mail", ErrInvalidToken)
	}
	if err != nil {
		return nil, err
	}
	if u.ID != sub {
		return nil, fmt.Errorf("%w: the e-mail belongs to another user", ErrInvalidToken)
	}
	if u.Verified {
		return nil, ErrAlreadyVerified
	}
	u.Verified = true
	if err := m.store.Update(ctx, u); err != nil {
		return nil, err
	}
	m.forget(u.ID)
	if err := runUserHooks(ctx, m.hooks.afterVerify, u, "after verify"); err != nil {
		return u, err
	}
	return u, nil
}

// ForgotPassword issues a password-reset token for u and passes it to the
// [OnAfterForgotPassword] hooks, which deliver it. It returns
// [ErrUserInactive] for an inactive user and issues nothing then. The token
// is a JWT with claims sub, password_fgpt (a keyed fingerprint of the
// current password hash) and aud "fastapi-users:reset", valid for
// [WithResetLifetime] (one hour). It stops working as soon as the password
// changes by any path, so it is single-use, and using one reset token kills
// the others.
func (m *Manager[F]) ForgotPassword(ctx context.Context, u *User[F]) error {
	if !u.Active {
		return ErrUserInactive
	}
	token, err := m.reset.issue(u.ID, map[string]any{"password_fgpt": m.passwordFingerprint(u)})
	if err != nil {
		return err
	}
	for _, fn := range m.hooks.afterForgotPassword {
		if err := fn(ctx, u, token); err != nil {
			return fmt.Errorf("ginusers: after forgot-password hook: %w", err)
		}
	}
	return nil
}

// ResetPassword sets a new password for the user of a reset token, then
// runs the [OnAfterResetPassword] hooks. The token is checked first: a bad,
// expired, used or superseded token, or one for a deleted or inactive user,
// gives [ErrInvalidToken] (wrapped). Then the password is validated; a
// refused password gives a [*PasswordError] and leaves the token usable.
// Concurrent uses of one token within a process are serialised, so exactly
// one succeeds.
func (m *Manager[F]) ResetPassword(ctx context.Context, token, password string) (*User[F], error) {
	tok, err := m.reset.parse(token)
	if err != nil {
		return nil, err
	}
	sub, fgpt := tok.Sub, tok.PasswordFgpt
	if sub == "" || fgpt == "" {
		return nil, fmt.Errorf("%w: missing sub or password_fgpt", ErrInvalidToken)
	}
	unlock := m.locks.lock(sub)
	defer unlock()
	u, err := m.store.Get(ctx, sub)
	if errors.Is(err, ErrUserNotFound) {
		return nil, fmt.Errorf("%w: no such user", ErrInvalidToken)
	}
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(fgpt), []byte(m.passwordFingerprint(u))) {
		return nil, fmt.Errorf("%w: the password changed since the token was issued", ErrInvalidToken)
	}
	if !u.Active {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, ErrUserInactive)
	}
	if err := m.ValidatePassword(ctx, password, u); err != nil {
		return nil, err
	}
	h, err := m.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	u.HashedPassword = h
	m.markRevoked(u)
	if err := m.store.Update(ctx, u); err != nil {
		return nil, err
	}
	m.forget(u.ID)
	if err := m.revokeTokens(ctx, u.ID); err != nil {
		return u, err
	}
	if err := runUserHooks(ctx, m.hooks.afterResetPassword, u, "after reset-password"); err != nil {
		return u, err
	}
	return u, nil
}

// passwordFingerprint binds a reset token to the password hash it was
// issued against: HMAC-SHA256 of the hash under the reset secret. It costs
// no password hashing, and reveals nothing of the hash.
func (m *Manager[F]) passwordFingerprint(u *User[F]) string {
	mac := hmac.New(sha256.New, m.reset.key)
	mac.Write([]byte("ginusers password fingerprint\x00" + u.ID + "\x00" + u.HashedPassword))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// deliver runs fn off the request path, so that answers to forgot-password
// and request-verify take the same time whether or not the address exists.
// Errors are logged. [Manager.Wait] waits for deliveries in flight.
func (m *Manager[F]) deliver(ctx context.Context, what string, fn func(context.Context) error) {
	m.pending.Add(1)
	go func() {
		defer m.pending.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := fn(ctx); err != nil {
			m.logger.ErrorContext(ctx, "ginusers: "+what+" failed", "error", err)
		}
	}()
}

// Wait blocks until the token deliveries started by the forgot-password and
// request-verify routes have finished. Call it when shutting down, after
// the HTTP server has stopped.
func (m *Manager[F]) Wait() { m.pending.Wait() }

// keyedLocks serialises work per key (a user id) within the process.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
