package ginusers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// Session is an authenticated request: its user and the backend whose
// token authenticated it. [Manager.AuthenticateRequest] makes it;
// [RequireUser] and the routes keep it for the handlers.
type Session[F any] struct {
	// User is the user, as loaded for this request.
	User *User[F]
	// Backend is the backend that authenticated the request.
	Backend *Backend
	// token is the raw token, for [Manager.Logout].
	token string
}

// Requirement is something a route demands of an authenticated user,
// checked by [Session.Check] (and so by [RequireUser] and the routes).
type Requirement int

const (
	// Verified requires a verified e-mail address; an unverified user gets
	// 403 Forbidden ([ErrUserNotVerified]).
	Verified Requirement = iota + 1
	// Superuser requires a superuser; others get 403 Forbidden
	// ([ErrNotSuperuser]).
	Superuser
	// AllowInactive lets inactive users through, which is otherwise refused
	// with 401 Unauthorized ([ErrUserInactive]), as for a user who is not
	// logged in.
	AllowInactive
)

// Check reports whether the session's user meets reqs, and whether they
// are active unless [AllowInactive] is among them. The inactive check comes
// first (fastapi-users' order): it returns [ErrUserInactive] (401), then
// [ErrUserNotVerified] or [ErrNotSuperuser] (403), or nil.
func (s *Session[F]) Check(reqs ...Requirement) error {
	u := s.User
	switch {
	case !u.Active && !slices.Contains(reqs, AllowInactive):
		return ErrUserInactive
	case slices.Contains(reqs, Verified) && !u.Verified:
		return ErrUserNotVerified
	case slices.Contains(reqs, Superuser) && !u.Superuser:
		return ErrNotSuperuser
	}
	return nil
}

// AuthenticateRequest finds the user of a request: it asks each backend in
// order (only those given, when backends is not empty: fastapi-users'
// enabled backends) for the request's token, and the first one that
// yields a live session wins. A missing, malformed, forged, expired or
// revoked token, or one whose user is gone, moves on to the next backend;
// when none is left the error is [ErrUnauthenticated]. A token that a
// [RequestChecker] transport refuses to trust for this request (an unsafe
// cross-origin request carrying the cookie) gives [ErrCrossOrigin]. Any
// other error is a failure of a store. The session is returned whatever the
// user's flags; use [Session.Check] for the requirements of a route.
//
// It reads the request and nothing else, so it serves Gin handlers,
// net/http handlers and WebSocket upgrades alike.
func (m *Manager[F]) AuthenticateRequest(r *http.Request, backends ...*Backend) (*Session[F], error) {
	ctx := r.Context()
	for _, b := range m.backends {
		if len(backends) > 0 && !slices.Contains(backends, b) {
			continue
		}
		token := b.transport.Token(r)
		if token == "" {
			continue
		}
		if rc, ok := b.transport.(RequestChecker); ok {
			if err := rc.CheckRequest(r); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrCrossOrigin, err)
			}
		}
		info, err := b.strategy.ReadToken(ctx, token)
		if errors.Is(err, ErrInvalidToken) {
			continue
		}
		if err != nil {
			return nil, err
		}
		u, err := m.getUser(ctx, info.UserID)
		if errors.Is(err, ErrUserNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !info.Irrevocable && (info.Epoch != u.SessionEpoch || info.ID != "" && isRevoked(u.RevokedTokens, info.ID)) {
			continue // a session that was ended
		}
		return &Session[F]{User: u, Backend: b, token: token}, nil
	}
	return nil, ErrUnauthenticated
}

func isRevoked(revoked map[string]time.Time, id string) bool {
	_, ok := revoked[id]
	return ok
}

// Login signs a user in with their e-mail address and password through
// backend b, for request r: it refuses a request that b's transport does
// not trust ([ErrCrossOrigin]: a cross-site form must not log a browser
// in), checks the credentials ([Manager.Authenticate]: an unknown address,
// a wrong password and an inactive user all give [ErrInvalidCredentials],
// at the cost of one password hash each), then signs the user in as
// [Manager.SignIn] does. It returns the user and the answer to write.
func (m *Manager[F]) Login(ctx context.Context, b *Backend, r *http.Request, email, password string) (*User[F], *Response, error) {
	if err := m.checkBackend(b); err != nil {
		return nil, nil, err
	}
	if rc, ok := b.transport.(RequestChecker); ok {
		if err := rc.CheckRequest(r); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrCrossOrigin, err)
		}
	}
	u, err := m.Authenticate(ctx, email, password)
	if errors.Is(err, ErrInvalidCredentials) {
		// Enough to spot brute force (the account tried, the client as the
		// HTTP layer resolved it with its trusted proxies), never the
		// password.
		m.logger.InfoContext(ctx, "ginusers: login failed", "backend", b.name,
			"email", loggedEmail(email), "client_ip", clientIP(ctx, r))
	}
	if err != nil {
		return nil, nil, err
	}
	resp, err := m.SignIn(ctx, b, r, u)
	return u, resp, err
}

// SignIn starts a session for u, a user already authenticated by other
// means (a password, an OAuth provider, a console sign-in), through
// backend b, for request r. An inactive user gives [ErrInvalidCredentials];
// with [WithRequireVerified], an unverified one gives [ErrUserNotVerified].
// It issues a token under the user's session epoch, has b's transport
// prepare the answer, and runs the [OnAfterLogin] hooks on it; if a hook
// fails, the token is ended (deleted or revoked) and the hook's error
// returned, so no session outlives a failed login. The answer is not
// written: the caller writes it.
func (m *Manager[F]) SignIn(ctx context.Context, b *Backend, r *http.Request, u *User[F]) (*Response, error) {
	if err := m.checkBackend(b); err != nil {
		return nil, err
	}
	if !u.Active {
		return nil, ErrInvalidCredentials
	}
	if m.cfg.requireVerified && !u.Verified {
		return nil, ErrUserNotVerified
	}
	token, err := b.strategy.WriteToken(ctx, TokenSubject{UserID: u.ID, Epoch: u.SessionEpoch})
	if err != nil {
		return nil, err
	}
	resp := b.transport.LoginResponse(token)
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	if err := runHooks("after login", m.hooks.afterLogin, func(fn LoginHook[F]) error { return fn(ctx, u, r, resp) }); err != nil {
		if lerr := m.endToken(ctx, u, b, token); lerr != nil {
			err = errors.Join(err, lerr)
		}
		return nil, err
	}
	m.logger.InfoContext(ctx, "ginusers: login", "backend", b.name, "user_id", u.ID, "client_ip", clientIP(ctx, r))
	return resp, nil
}

// checkBackend refuses a backend that is not one of the manager's.
func (m *Manager[F]) checkBackend(b *Backend) error {
	if !slices.Contains(m.backends, b) {
		return fmt.Errorf("ginusers: backend %v is not one of the manager's", b)
	}
	return nil
}

// Logout ends the session s: a stored token is deleted; a JWT is revoked
// by its jti in the user's record until it expires (or, for a token
// without a jti, such as fastapi-users', by a new session epoch, which
// ends every session of the user). A token of a strategy that opted out of
// revocation is left valid, as documented on [WithInsecureIrrevocableJWT].
// s.User is updated in place.
func (m *Manager[F]) Logout(ctx context.Context, s *Session[F]) error {
	return m.endToken(ctx, s.User, s.Backend, s.token)
}

// maxRevokedTokens bounds the tokens a user may log out one by one within
// a token lifetime; beyond it, a logout ends every session of the user.
const maxRevokedTokens = 64

// endToken ends one token of u, issued by b.
func (m *Manager[F]) endToken(ctx context.Context, u *User[F], b *Backend, token string) error {
	err := b.strategy.DestroyToken(ctx, token)
	if !errors.Is(err, ErrNotSupported) {
		return err
	}
	info, err := b.strategy.ReadToken(ctx, token)
	if errors.Is(err, ErrInvalidToken) {
		return nil // expired meanwhile: nothing left to end
	}
	if err != nil {
		return err
	}
	if info.Irrevocable {
		return nil
	}
	now := m.now()
	var ch UserChange[F]
	if info.ID == "" || len(u.RevokedTokens) >= maxRevokedTokens {
		ch.SessionEpoch = ptrTo(newEpoch())
	} else {
		exp := info.ExpiresAt
		if exp.IsZero() {
			exp = now.Add(24 * time.Hour)
		}
		ch.RevokeTokens = map[string]time.Time{info.ID: exp}
		for id, exp := range u.RevokedTokens {
			if !now.Before(exp) {
				ch.ForgetTokens = append(ch.ForgetTokens, id)
			}
		}
	}
	nu, err := m.write(ctx, u.ID, ch, UserCondition{})
	if err != nil {
		return err
	}
	*u = *nu
	if ch.SessionEpoch != nil {
		return m.revokeTokens(ctx, u.ID)
	}
	return nil
}

// clientIPKey carries, in a request's context, the client address as the
// HTTP layer resolved it (Gin's ClientIP, with the app's trusted proxies).
type clientIPKey struct{}

// withClientIP returns ctx carrying ip for the log lines of the verbs.
func withClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// clientIP is the client address for log lines: the one the HTTP layer
// resolved, else the host of r's RemoteAddr.
func clientIP(ctx context.Context, r *http.Request) string {
	if ip, ok := ctx.Value(clientIPKey{}).(string); ok && ip != "" {
		return ip
	}
	if r == nil {
		return ""
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// loggedEmail is the form of a login name that goes into the log: the
// normalised address when it is one; otherwise (a password typed in the
// wrong field, garbage) never the text itself, but "invalid:" and the
// first 12 hex digits of its SHA-256, enough to see repeated attempts.
func loggedEmail(username string) string {
	if e, err := NormalizeEmail(username); err == nil {
		return e
	}
	sum := sha256.Sum256([]byte(username))
	return "invalid:" + hex.EncodeToString(sum[:6])
}
