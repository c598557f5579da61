package ginusers

import (
	"context"
	"errors"
	"slices"

	"github.com/gin-gonic/gin"
)

// RetryAfterUnavailable is the Retry-After, in seconds, of the 503 answer
// to [ErrUnavailable].
const RetryAfterUnavailable = 5

// The current session is stored twice by [RequireUser], [OptionalUser] and
// the routes: in the Gin context, read by [Manager.CurrentUser], and its
// user in the request's context, read by [Manager.UserFromContext] in code
// that only sees c.Request.Context(). The keys are unexported types, so no
// other package can read or forge them, and each holds its Manager: two
// Managers on one engine (customers and staff) never see each other's
// sessions, users or failures. A key is one pointer, stored in an
// interface without an allocation.
type (
	sessionKey[F any] struct{ m *Manager[F] } // *Session[F]: the session kept for the handlers
	userKey[F any]    struct{ m *Manager[F] } // *User[F], in the request's context
	authnKey[F any]   struct{ m *Manager[F] } // *Session[F] or error: the outcome of authenticating the request
)

// RequireUser returns middleware that requires an authenticated, active user
// (401 otherwise) meeting reqs (403 otherwise; see [Session.Check]) and
// keeps the session for [Manager.CurrentUser], [Manager.UserFromContext]
// and the routes mounted below it, which do not authenticate the request
// again. Inactive users are refused unless [AllowInactive] is given. With
// [WithRequireVerified], [Verified] is implied. Errors are answered like
// every route's: 401 with WWW-Authenticate when a bearer backend is
// configured, 403, 503 when the database is unreachable.
func RequireUser[F any](m *Manager[F], reqs ...Requirement) gin.HandlerFunc {
	return m.require(&Auth{Requirements: m.baseRequirements(reqs...)})
}

// RequireUserFrom is [RequireUser] with only the given backends tried (the
// values passed to [WithBackends]); tokens for the others are ignored, as
// if absent (fastapi-users' enabled backends). Routes mounted below it keep
// its choice. A backend that is not one of m's matches nothing, and so
// does an empty list: a list of enabled backends computed at run time that
// comes out empty refuses every request (401), as fastapi-users does; use
// [RequireUser] for every backend.
func RequireUserFrom[F any](m *Manager[F], backends []*Backend, reqs ...Requirement) gin.HandlerFunc {
	return m.require(&Auth{Requirements: m.baseRequirements(reqs...), Backends: m.onlyBackends(backends)})
}

// require is the middleware of [RequireUser] and [RequireUserFrom].
func (m *Manager[F]) require(auth *Auth) gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, err := m.requireSession(c, auth); err != nil {
			m.fail(c, nil, err)
			return
		}
		c.Next()
	}
}

// OptionalUser returns middleware that keeps the session as [RequireUser]
// does when the request is authenticated and its user meets reqs (active
// unless [AllowInactive]), and otherwise lets the request through with no
// user. It never answers 401 or 403; a failure of a store is answered
// (500, or 503 when the database is unreachable).
func OptionalUser[F any](m *Manager[F], reqs ...Requirement) gin.HandlerFunc {
	reqs = m.baseRequirements(reqs...)
	return func(c *gin.Context) {
		s, err := m.session(c, nil)
		switch {
		case err == nil:
			if s.Check(reqs...) == nil {
				m.keep(c, s)
			}
		case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrCrossOrigin):
		default:
			m.fail(c, nil, err)
			return
		}
		c.Next()
	}
}

// noBackend is a list of backends that matches none of a Manager's.
var noBackend = []*Backend{{}}

// onlyBackends returns those of backends that are m's, or [noBackend] when
// none is.
func (m *Manager[F]) onlyBackends(backends []*Backend) []*Backend {
	var known []*Backend
	for _, b := range backends {
		if m.checkBackend(b) == nil {
			known = append(known, b)
		}
	}
	if len(known) == 0 {
		return noBackend
	}
	return known
}

// baseRequirements adds [Verified] under [WithRequireVerified].
func (m *Manager[F]) baseRequirements(reqs ...Requirement) []Requirement {
	out := append([]Requirement(nil), reqs...)
	if m.cfg.requireVerified {
		out = append(out, Verified)
	}
	return out
}

// session authenticates the request with the given backends, or returns
// the outcome of an earlier authentication of it (by middleware on the
// group: the request is authenticated once).
func (m *Manager[F]) session(c *gin.Context, backends []*Backend) (*Session[F], error) {
	if v, ok := c.Get(authnKey[F]{m}); ok {
		switch r := v.(type) {
		case *Session[F]:
			// A session is reused where its backend is allowed: a route
			// limited to some backends does not take another's session.
			if len(backends) == 0 || slices.Contains(backends, r.Backend) {
				return r, nil
			}
		case error:
			if len(backends) == 0 {
				return nil, r
			}
		}
	}
	s, err := m.AuthenticateRequest(c.Request, backends...)
	switch {
	case err == nil:
		c.Set(authnKey[F]{m}, s) // a pointer: stored without an allocation
	case len(backends) == 0 && (errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrCrossOrigin)):
		c.Set(authnKey[F]{m}, err)
	}
	return s, err
}

// keep stores s for [Manager.CurrentUser] and [Manager.UserFromContext].
func (m *Manager[F]) keep(c *gin.Context, s *Session[F]) {
	if v, ok := c.Get(sessionKey[F]{m}); ok && v == s {
		return
	}
	c.Set(sessionKey[F]{m}, s)
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), userKey[F]{m}, s.User))
}

// requireSession authenticates the request (or reuses its session), checks
// auth's requirements, and keeps the session.
func (m *Manager[F]) requireSession(c *gin.Context, auth *Auth) (*Session[F], error) {
	s, err := m.session(c, auth.Backends)
	if err != nil {
		return nil, err
	}
	if err := s.Check(auth.Requirements...); err != nil {
		return nil, err
	}
	m.keep(c, s)
	return s, nil
}

// CurrentUser returns the user that [RequireUser], [OptionalUser] or a
// route authenticated for this request. When there is none (no such
// middleware ran, or [OptionalUser] found no user) it returns (nil, false);
// under [RequireUser] the user is always there. To be handed a user that
// cannot be nil, use [Manager.WithUser]. It never panics.
func (m *Manager[F]) CurrentUser(c *gin.Context) (*User[F], bool) {
	s, ok := m.CurrentSession(c)
	if !ok {
		return nil, false
	}
	return s.User, true
}

// CurrentSession returns the session that [RequireUser], [OptionalUser] or
// a route established for this request, or (nil, false).
func (m *Manager[F]) CurrentSession(c *gin.Context) (*Session[F], bool) {
	v, ok := c.Get(sessionKey[F]{m})
	if !ok {
		return nil, false
	}
	s, _ := v.(*Session[F])
	return s, s != nil
}

// UserFromContext returns the user that [RequireUser], [OptionalUser] or a
// route stored in the request's context, for code that sees only
// c.Request.Context(), or (nil, false).
func (m *Manager[F]) UserFromContext(ctx context.Context) (*User[F], bool) {
	u, ok := ctx.Value(userKey[F]{m}).(*User[F])
	return u, ok && u != nil
}

// WithUser returns a handler that requires an authenticated, active user
// meeting reqs, as [RequireUser] does, and calls fn with it: fn is never
// called without a user, so it cannot mistake a missing one for a user.
//
//	r.GET("/hello", m.WithUser(func(c *gin.Context, u *ginusers.User[Profile]) {
//		c.String(200, "Hello %s!", u.Email)
//	}))
func (m *Manager[F]) WithUser(fn func(c *gin.Context, u *User[F]), reqs ...Requirement) gin.HandlerFunc {
	auth := &Auth{Requirements: m.baseRequirements(reqs...)}
	return func(c *gin.Context) {
		s, err := m.requireSession(c, auth)
		if err != nil {
			m.fail(c, nil, err)
			return
		}
		fn(c, s.User)
	}
}
