package ginusers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
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
	return runHooks("after request-verify", m.hooks.afterRequestVerify, func(fn TokenHook[F]) error { return fn(ctx, u, token) })
}

// RequestVerification has a verification token made and delivered (by the
// [OnAfterRequestVerify] hooks) for the user with the given address, if
// there is one and it is active and unverified, off the caller's path:
// through the bounded delivery queue ([WithDeliveryQueue]), where the user
// is read again and the token made when the job runs. It returns nil
// whether or not the address belongs to anyone, so that its answer tells
// nothing (only a failure of the store is an error): fastapi-users'
// request-verify-token.
func (m *Manager[F]) RequestVerification(ctx context.Context, email string) error {
	return m.requestToken(ctx, "request-verify", email, func(u *User[F]) bool { return u.Active && !u.Verified }, m.RequestVerify)
}

// RequestPasswordReset has a reset token made and delivered (by the
// [OnAfterForgotPassword] hooks) for the user with the given address, if
// there is one and it is active, as [Manager.RequestVerification] does:
// fastapi-users' forgot-password.
func (m *Manager[F]) RequestPasswordReset(ctx context.Context, email string) error {
	return m.requestToken(ctx, "forgot-password", email, func(u *User[F]) bool { return u.Active }, m.ForgotPassword)
}

func (m *Manager[F]) requestToken(ctx context.Context, what, email string, eligible func(*User[F]) bool, issue func(context.Context, *User[F]) error) error {
	u, err := m.store.GetByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if eligible(u) {
		m.deliver(ctx, what, u.ID, eligible, issue)
	}
	return nil
}

// Verify marks the user of a verification token verified, stores it, runs
// the [OnAfterVerify] hooks and returns the user. The token is refused with
// [ErrInvalidToken] (wrapped) when it is malformed, forged, expired, made
// for another purpose, or when its e-mail no longer belongs to the user it
// was issued to; a verified user gives [ErrAlreadyVerified], so a token
// works once. The store checks both conditions in the write itself, so two
// concurrent uses of one token, even on two instances, verify once.
// Inactive users can be verified, as in fastapi-users. Tokens that
// fastapi-users mailed with the same secret are accepted.
func (m *Manager[F]) Verify(ctx context.Context, token string) (*User[F], error) {
	tok, u, err := m.redeem(ctx, m.verify, token, func(c *claims) string { return c.Email },
		func(c *claims) (*User[F], error) { return m.store.GetByEmail(ctx, c.Email) })
	if err != nil {
		return nil, err
	}
	sub, email := tok.Sub, tok.Email
	if u.ID != sub {
		return nil, fmt.Errorf("%w: the e-mail belongs to another user", ErrInvalidToken)
	}
	if !sameMailbox(u.Email, email) {
		// A change other than the ASCII case (a Unicode case variant) is
		// another address, which this token never proved (D3).
		return nil, fmt.Errorf("%w: the address changed since the token was issued", ErrInvalidToken)
	}
	if u.Verified {
		return nil, ErrAlreadyVerified
	}
	nu, err := m.write(ctx, u.ID, UserChange[F]{Verified: ptrTo(true)}, UserCondition{Verified: ptrTo(false), Email: ptrTo(u.Email)})
	switch {
	case errors.Is(err, ErrConflict):
		// Verified meanwhile, or the address changed.
		if cur, gerr := m.store.Get(ctx, u.ID); gerr == nil && cur.Verified && sameMailbox(cur.Email, email) {
			return nil, ErrAlreadyVerified
		}
		return nil, fmt.Errorf("%w: the user changed since the token was issued", ErrInvalidToken)
	case errors.Is(err, ErrUserNotFound):
		return nil, fmt.Errorf("%w: no such user", ErrInvalidToken)
	case err != nil:
		return nil, err
	}
	if err := runUserHooks(ctx, m.hooks.afterVerify, nu, "after verify"); err != nil {
		return nu, err
	}
	return nu, nil
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
	return runHooks("after forgot-password", m.hooks.afterForgotPassword, func(fn TokenHook[F]) error { return fn(ctx, u, token) })
}

// ResetPassword sets a new password for the user of a reset token, ends
// every session of the user, then runs the [OnAfterResetPassword] hooks.
// The token is checked first: a bad, expired, used or superseded token, or
// one for a deleted or inactive user, gives [ErrInvalidToken] (wrapped).
// Then the password is validated; a refused password gives a
// [*PasswordError] and leaves the token usable. The new hash is written
// only if the stored hash is still the one the token was made for, checked
// by the store in the write itself: of concurrent uses of one token, even
// on two instances, exactly one succeeds. Tokens that fastapi-users mailed
// with the same secret are accepted (their fingerprint costs one hash).
func (m *Manager[F]) ResetPassword(ctx context.Context, token, password string) (*User[F], error) {
	tok, u, err := m.redeem(ctx, m.reset, token, func(c *claims) string { return c.PasswordFgpt },
		func(c *claims) (*User[F], error) { return m.store.Get(ctx, c.Sub) })
	if err != nil {
		return nil, err
	}
	if ok, err := m.fingerprintMatches(ctx, u, tok.PasswordFgpt); err != nil {
		return nil, err
	} else if !ok {
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
	nu, err := m.write(ctx, u.ID,
		UserChange[F]{HashedPassword: &h, SessionEpoch: ptrTo(newEpoch())},
		UserCondition{HashedPassword: &u.HashedPassword, Active: ptrTo(true)})
	switch {
	case errors.Is(err, ErrConflict):
		return nil, fmt.Errorf("%w: the token was used, or the password changed, meanwhile", ErrInvalidToken)
	case errors.Is(err, ErrUserNotFound):
		return nil, fmt.Errorf("%w: no such user", ErrInvalidToken)
	case err != nil:
		return nil, err
	}
	if err := m.revokeTokens(ctx, nu.ID); err != nil {
		return nu, err
	}
	if err := runUserHooks(ctx, m.hooks.afterResetPassword, nu, "after reset-password"); err != nil {
		return nu, err
	}
	return nu, nil
}

// redeem checks a verification or reset token with tc and loads its user:
// the token must be valid and carry sub and the claim that claim returns,
// and lookup must find a user from them; any failure is [ErrInvalidToken]
// (wrapped), a failure of the store excepted.
func (m *Manager[F]) redeem(ctx context.Context, tc *tokenCodec, token string, claim func(*claims) string, lookup func(*claims) (*User[F], error)) (*claims, *User[F], error) {
	tok, err := tc.parse(token)
	if err != nil {
		return nil, nil, err
	}
	if tok.Sub == "" || claim(tok) == "" {
		return nil, nil, fmt.Errorf("%w: a claim is missing", ErrInvalidToken)
	}
	u, err := lookup(tok)
	if errors.Is(err, ErrUserNotFound) {
		return nil, nil, fmt.Errorf("%w: no such user", ErrInvalidToken)
	}
	if err != nil {
		return nil, nil, err
	}
	return tok, u, nil
}

// passwordFingerprint binds a reset token to the password hash it was
// issued against: HMAC-SHA256 of the hash under the reset secret. It costs
// no password hashing, and reveals nothing of the hash.
func (m *Manager[F]) passwordFingerprint(u *User[F]) string {
	mac := hmac.New(sha256.New, m.reset.key)
	mac.Write([]byte("ginusers password fingerprint\x00" + u.ID + "\x00" + u.HashedPassword))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// fingerprintMatches reports whether fgpt, the password_fgpt claim of a
// reset token, was made from u's current password hash: ginusers' HMAC
// fingerprint, or fastapi-users' (a password hash, argon2id or bcrypt, of
// the stored hash string), which costs one hash to check.
func (m *Manager[F]) fingerprintMatches(ctx context.Context, u *User[F], fgpt string) (bool, error) {
	if !strings.HasPrefix(fgpt, "$") {
		return hmac.Equal([]byte(fgpt), []byte(m.passwordFingerprint(u))), nil
	}
	ok, _, err := m.verifyHash(ctx, u.HashedPassword, fgpt)
	if errors.Is(err, ErrHashingBusy) {
		return false, err
	}
	return ok && err == nil, nil
}
