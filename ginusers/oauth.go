package ginusers

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// OAuthIdentity is what an OAuth or OpenID provider said about the account
// a user signed in with, as the HTTP layer (the oauth module) hands it to
// [Manager.OAuthCallback] and [Manager.OAuthAssociate].
type OAuthIdentity struct {
	// OAuthName is the provider's name ("google", "oidc").
	OAuthName string
	// AccountID is the provider's stable identifier of the account (the
	// sub of an OpenID provider; GitHub's numeric id). Required.
	AccountID string
	// Email is the address the provider gave, if any.
	Email string
	// EmailVerified is true when the provider vouches that the address is
	// the account holder's (OpenID's email_verified; GitHub's verified
	// primary address). Association by e-mail and verified-by-default
	// need it.
	EmailVerified bool
	// AccessToken, RefreshToken and ExpiresAt are the provider's tokens;
	// they are stored (sealed) only with [WithOAuthTokenKey].
	AccessToken, RefreshToken string
	ExpiresAt                 time.Time
}

// OAuthPolicy is how [Manager.OAuthCallback] treats a provider account
// that is not linked yet. The zero value is the safe default.
type OAuthPolicy struct {
	// AssociateByEmail links the account to the existing user with the
	// same e-mail address (fastapi-users' associate_by_email), but only
	// when the provider says the address is verified and the existing
	// user has verified it too: otherwise whoever controls an unverified
	// address at one end could take over the account at the other. Off
	// by default: such a sign-in gets [ErrUserExists].
	AssociateByEmail bool
	// VerifiedByDefault makes a user created from a provider account
	// verified (fastapi-users' is_verified_by_default), when the provider
	// says the address is verified. Off by default.
	VerifiedByDefault bool
}

// OAuthTokens are the provider tokens of a linked account, opened.
type OAuthTokens struct {
	AccessToken, RefreshToken string
	// ExpiresAt is when the access token expires; zero if unknown.
	ExpiresAt time.Time
}

// oauthRetries bounds how often a sign-in decides again after losing a
// race (another request linked the account or took the address).
const oauthRetries = 3

// oauthStore returns the store's [OAuthStore], or [ErrOAuthUnsupported].
func (m *Manager[F]) oauthStore() (OAuthStore[F], error) {
	os, ok := m.store.(OAuthStore[F])
	if !ok {
		return nil, ErrOAuthUnsupported
	}
	return os, nil
}

// OAuthSupported reports whether the Manager's store keeps OAuth accounts
// ([OAuthStore]), which the OAuth routes need.
func (m *Manager[F]) OAuthSupported() bool {
	_, err := m.oauthStore()
	return err == nil
}

func checkIdentity(id *OAuthIdentity) error {
	if id.OAuthName == "" || id.AccountID == "" {
		return errors.New("ginusers: OAuth identity without a provider name or account id")
	}
	return nil
}

// OAuthCallback finds or makes the user of a provider account, after a
// successful sign-in at the provider (fastapi-users' oauth_callback):
//
//  1. the user who has the account (OAuthName and AccountID in one entry)
//     is returned, with the account's e-mail and tokens updated; the
//     user's own address and flags are left alone;
//  2. otherwise, if a user has the account's e-mail address: with
//     p.AssociateByEmail, the provider vouching for the address and the
//     user having verified it, the account is linked to that user (the
//     [OnAfterUpdate] hooks run, with "oauth_accounts"); otherwise
//     [ErrUserExists];
//  3. otherwise, if the provider vouches for the address, a user is
//     created with it, a random password (they may set one with
//     forgot-password), verified only with p.VerifiedByDefault, and the
//     account linked; the [OnAfterRegister] hooks run, and created is
//     true. An address the provider does not vouch for makes no user
//     ([ErrOAuthNoEmail]): whoever claimed it at the provider would keep
//     the account as a way in after the address's owner took the user
//     back with forgot-password ("pre-account hijacking"). Such a user
//     registers, then links the account ([Manager.OAuthAssociate]).
//
// It returns [ErrOAuthNoEmail] when the provider gave no valid address
// (checked before anything else), and [ErrOAuthUnsupported] for a store
// without [OAuthStore]. The user may be inactive: signing in
// ([Manager.SignIn]) refuses them. A race with another request for the
// same account or address is decided again on a fresh read.
func (m *Manager[F]) OAuthCallback(ctx context.Context, id OAuthIdentity, p OAuthPolicy) (u *User[F], created bool, err error) {
	os, err := m.oauthStore()
	if err != nil {
		return nil, false, err
	}
	if err := checkIdentity(&id); err != nil {
		return nil, false, err
	}
	email, err := NormalizeEmail(id.Email)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrOAuthNoEmail, err)
	}
	for attempt := 1; ; attempt++ {
		u, err := os.GetByOAuthAccount(ctx, id.OAuthName, id.AccountID)
		if err == nil {
			u, err = m.refreshOAuthAccount(ctx, os, u, &id)
			return u, false, err
		}
		if !errors.Is(err, ErrUserNotFound) {
			return nil, false, err
		}
		owner, err := m.store.GetByEmail(ctx, email)
		switch {
		case err == nil:
			if owner.hasOAuthAccount(id.OAuthName, id.AccountID) {
				// Created, with this account, by a sign-in racing this
				// one since the lookup by account above: the same user.
				u, err := m.refreshOAuthAccount(ctx, os, owner, &id)
				return u, false, err
			}
			if !p.AssociateByEmail || !id.EmailVerified || !owner.Verified {
				return nil, false, ErrUserExists
			}
			u, err := m.linkOAuthAccount(ctx, os, owner, &id, UserCondition{Email: ptrTo(owner.Email), Verified: ptrTo(true)})
			if (errors.Is(err, ErrOAuthAccountTaken) || errors.Is(err, ErrConflict)) && attempt < oauthRetries {
				continue
			}
			return u, false, err
		case !errors.Is(err, ErrUserNotFound):
			return nil, false, err
		}
		if !id.EmailVerified {
			// Pre-account hijacking: a user made with an address nobody
			// proved would keep the provider account as a way in after the
			// address's owner takes the account back (forgot-password).
			return nil, false, fmt.Errorf("%w: the provider does not vouch for the address, so no user is made with it", ErrOAuthNoEmail)
		}
		u, err = m.createOAuthUser(ctx, os, email, &id, p)
		if (errors.Is(err, ErrUserExists) || errors.Is(err, ErrOAuthAccountTaken)) && attempt < oauthRetries {
			continue
		}
		// A user whose tokens or hooks failed was created all the same.
		return u, u != nil, err
	}
}

// createOAuthUser creates the user of a provider account, then stores the
// account's tokens (which are sealed for the user's id, known only once
// the user exists) and runs the after-register hooks.
func (m *Manager[F]) createOAuthUser(ctx context.Context, os OAuthStore[F], email string, id *OAuthIdentity, p OAuthPolicy) (*User[F], error) {
	hash, err := m.hash(ctx, rand.Text()+rand.Text())
	if err != nil {
		return nil, err
	}
	u := &User[F]{
		Email: email, HashedPassword: hash, Active: true,
		Verified:      p.VerifiedByDefault && id.EmailVerified,
		OAuthAccounts: []OAuthAccount{{OAuthName: id.OAuthName, AccountID: id.AccountID, AccountEmail: id.Email, ExpiresAt: id.ExpiresAt}},
	}
	if err := m.store.Create(ctx, u); err != nil {
		return nil, err
	}
	m.logger.InfoContext(ctx, "ginusers: user created from an OAuth account", "user_id", u.ID, "oauth_name", id.OAuthName)
	if m.sealer != nil && (id.AccessToken != "" || id.RefreshToken != "") {
		nu, err := os.UpdateOAuthAccount(ctx, u.ID, m.sealedAccount(u.ID, id))
		m.forget(u.ID)
		if err != nil {
			return u, fmt.Errorf("ginusers: store the OAuth tokens of a new user: %w", err)
		}
		u = nu
	}
	return u, runUserHooks(ctx, m.hooks.afterRegister, u, "after register")
}

// sealedAccount is the account entry of id for the user userID, its tokens
// sealed, or left out without a key.
func (m *Manager[F]) sealedAccount(userID string, id *OAuthIdentity) OAuthAccount {
	acc := OAuthAccount{OAuthName: id.OAuthName, AccountID: id.AccountID, AccountEmail: id.Email, ExpiresAt: id.ExpiresAt}
	if m.sealer != nil {
		acc.AccessToken = m.sealer.seal(id.AccessToken, sealAD(userID, id.OAuthName, id.AccountID, "access"))
		acc.RefreshToken = m.sealer.seal(id.RefreshToken, sealAD(userID, id.OAuthName, id.AccountID, "refresh"))
	}
	return acc
}

// refreshOAuthAccount stores what the provider said at a new sign-in of a
// linked account: its address and tokens (sealed; plaintext ones of
// fastapi-users are replaced).
func (m *Manager[F]) refreshOAuthAccount(ctx context.Context, os OAuthStore[F], u *User[F], id *OAuthIdentity) (*User[F], error) {
	nu, err := os.UpdateOAuthAccount(ctx, u.ID, m.sealedAccount(u.ID, id))
	m.forget(u.ID)
	return nu, err
}

// linkOAuthAccount adds the account to u under when and runs the
// after-update hooks.
func (m *Manager[F]) linkOAuthAccount(ctx context.Context, os OAuthStore[F], u *User[F], id *OAuthIdentity, when UserCondition) (*User[F], error) {
	nu, err := os.AddOAuthAccount(ctx, u.ID, m.sealedAccount(u.ID, id), when)
	m.forget(u.ID)
	if err != nil {
		return nil, err
	}
	m.logger.InfoContext(ctx, "ginusers: OAuth account linked", "user_id", u.ID, "oauth_name", id.OAuthName)
	changes := Changes{Fields: []string{"oauth_accounts"}}
	return nu, runHooks("after update", m.hooks.afterUpdate, func(fn UpdateHook[F]) error { return fn(ctx, nu, changes) })
}

// OAuthAssociate links a provider account to u, a signed-in user
// (fastapi-users' oauth_associate_callback), and returns u as written.
// An account linked to another user gives [ErrOAuthAccountTaken] and
// changes nothing; one linked to u already has its address and tokens
// updated. The link is written only while u is active and the session u
// was read for lives (as [Manager.UpdateSafe]): [ErrUserInactive],
// [ErrSessionEnded]. The [OnAfterUpdate] hooks run with
// "oauth_accounts". [ErrOAuthNoEmail] when the provider gave no address.
func (m *Manager[F]) OAuthAssociate(ctx context.Context, u *User[F], id OAuthIdentity) (*User[F], error) {
	os, err := m.oauthStore()
	if err != nil {
		return nil, err
	}
	if err := checkIdentity(&id); err != nil {
		return nil, err
	}
	if _, err := NormalizeEmail(id.Email); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOAuthNoEmail, err)
	}
	if !u.Active {
		return nil, ErrUserInactive
	}
	owner, err := os.GetByOAuthAccount(ctx, id.OAuthName, id.AccountID)
	switch {
	case err == nil && owner.ID != u.ID:
		return nil, ErrOAuthAccountTaken
	case err == nil:
		return m.refreshOAuthAccount(ctx, os, owner, &id)
	case !errors.Is(err, ErrUserNotFound):
		return nil, err
	}
	nu, err := m.linkOAuthAccount(ctx, os, u, &id, UserCondition{Active: ptrTo(true), SessionEpoch: ptrTo(u.SessionEpoch)})
	if errors.Is(err, ErrConflict) {
		cur, gerr := m.store.Get(ctx, u.ID)
		switch {
		case gerr != nil:
			return nil, gerr
		case !cur.Active:
			return nil, ErrUserInactive
		}
		return nil, fmt.Errorf("%w: the user's sessions were ended", ErrSessionEnded)
	}
	return nu, err
}

// OAuthTokens returns the provider tokens stored for u's account at the
// provider oauthName with the given id, opened. It returns
// [ErrOAuthAccountNotFound] when u has no such account; tokens are empty
// without [WithOAuthTokenKey] (none are stored), and an error when a
// sealed token does not open (it was sealed with a key no longer given, or
// moved to another entry).
func (m *Manager[F]) OAuthTokens(u *User[F], oauthName, accountID string) (OAuthTokens, error) {
	for _, a := range u.OAuthAccounts {
		if a.OAuthName != oauthName || a.AccountID != accountID {
			continue
		}
		t := OAuthTokens{ExpiresAt: a.ExpiresAt}
		if m.sealer == nil {
			if isSealed(a.AccessToken) || isSealed(a.RefreshToken) {
				return OAuthTokens{}, fmt.Errorf("%w: no WithOAuthTokenKey", errSealed)
			}
			return OAuthTokens{AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, ExpiresAt: a.ExpiresAt}, nil
		}
		var err error
		if t.AccessToken, err = m.sealer.open(a.AccessToken, sealAD(u.ID, oauthName, accountID, "access")); err != nil {
			return OAuthTokens{}, err
		}
		if t.RefreshToken, err = m.sealer.open(a.RefreshToken, sealAD(u.ID, oauthName, accountID, "refresh")); err != nil {
			return OAuthTokens{}, err
		}
		return t, nil
	}
	return OAuthTokens{}, ErrOAuthAccountNotFound
}

// OAuthState is what the state token of an OAuth flow carries, signed
// (HS256 with the [WithSecret] secret, audience
// "fastapi-users:oauth-state", lifetime [WithOAuthStateLifetime]). It is
// issued by the authorize route and checked by the callback before
// anything else, by the oauth module.
type OAuthState struct {
	// CSRF binds the state to the browser that started the flow: a value
	// derived from the secret of the browser's CSRF cookie (claim
	// "csrftoken", as fastapi-users).
	CSRF string
	// OAuthName is the provider the flow is for (claim "oauth_name").
	OAuthName string
	// UserID is the signed-in user an association flow is for (claim
	// "sub"); empty for a sign-in flow.
	UserID string
	// Redirect is where to send the browser after signing in (claim
	// "redirect"); empty for none.
	Redirect string
}

// IssueOAuthState signs s as a state token.
func (m *Manager[F]) IssueOAuthState(s OAuthState) (string, error) {
	if s.CSRF == "" || s.OAuthName == "" {
		return "", errors.New("ginusers: OAuth state without csrftoken or provider")
	}
	extra := map[string]any{"csrftoken": s.CSRF, "oauth_name": s.OAuthName}
	if s.Redirect != "" {
		extra["redirect"] = s.Redirect
	}
	return m.state.issue(s.UserID, extra)
}

// ReadOAuthState checks a state token and returns what it carries. A
// malformed, forged, other-purpose or expired token gives an error
// wrapping [ErrInvalidToken]; an expired one also wraps [ErrTokenExpired].
// A token without csrftoken or provider is invalid.
func (m *Manager[F]) ReadOAuthState(token string) (OAuthState, error) {
	c, err := m.state.parse(token)
	if err != nil {
		return OAuthState{}, err
	}
	if c.Csrftoken == "" || c.OAuthName == "" {
		return OAuthState{}, fmt.Errorf("%w: state without csrftoken or provider", ErrInvalidToken)
	}
	return OAuthState{CSRF: c.Csrftoken, OAuthName: c.OAuthName, UserID: c.Sub, Redirect: c.Redirect}, nil
}

// OAuthStateLifetime returns how long OAuth states stay valid
// ([WithOAuthStateLifetime]).
func (m *Manager[F]) OAuthStateLifetime() time.Duration { return m.state.lifetime }

// hasOAuthAccount reports whether u has the account id of provider name.
func (u *User[F]) hasOAuthAccount(name, id string) bool {
	for _, a := range u.OAuthAccounts {
		if a.OAuthName == name && a.AccountID == id {
			return true
		}
	}
	return false
}
