package ginusers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
)

// Requirement is something [RequireUser] and [OptionalUser] demand of the
// user beyond being authenticated and active.
type Requirement int

const (
	// Verified requires a verified e-mail address; an unverified user gets
	// 403 Forbidden.
	Verified Requirement = iota + 1
	// Superuser requires a superuser; others get 403 Forbidden.
	Superuser
	// AllowInactive lets inactive users through, which is otherwise refused
	// with 401 Unauthorized (as for a user who is not logged in).
	AllowInactive
)

type requirements struct {
	verified, superuser, allowInactive bool
	backends                           []string // names of the backends tried; nil: all
}

func makeRequirements(reqs []Requirement) requirements {
	return requirements{
		verified:      slices.Contains(reqs, Verified),
		superuser:     slices.Contains(reqs, Superuser),
		allowInactive: slices.Contains(reqs, AllowInactive),
	}
}

// RequireUser returns middleware that requires an authenticated, active user
// and stores it for [CurrentUser] and [UserFromContext]. Inactive users are
// refused unless [AllowInactive] is given. It answers 401 when no backend
// yields a user or the user is inactive (with WWW-Authenticate: Bearer when
// a bearer backend is configured), and 403 when the user fails [Verified] or
// [Superuser]; the inactive check comes first. A store failure answers 500,
// or 503 with Retry-After when the database is unreachable ([ErrUnavailable]).
func RequireUser[F any](m *Manager[F], reqs ...Requirement) gin.HandlerFunc {
	r := makeRequirements(reqs)
	return func(c *gin.Context) {
		if _, ok := m.requireUser(c, r); !ok {
			return
		}
		c.Next()
	}
}

// RequireUserFrom is [RequireUser] with only the named backends tried, in
// the manager's order; tokens for the others are ignored, as if absent
// (fastapi-users' get_enabled_backends). A name that is not a backend of m
// matches nothing.
func RequireUserFrom[F any](m *Manager[F], backends []string, reqs ...Requirement) gin.HandlerFunc {
	r := makeRequirements(reqs)
	r.backends = append([]string{}, backends...)
	return func(c *gin.Context) {
		if _, ok := m.requireUser(c, r); !ok {
			return
		}
		c.Next()
	}
}

// OptionalUser returns middleware that stores the user as [RequireUser]
// does when one is authenticated and meets reqs, and otherwise lets the
// request through with no user. It never answers 401 or 403.
func OptionalUser[F any](m *Manager[F], reqs ...Requirement) gin.HandlerFunc {
	r := makeRequirements(reqs)
	return func(c *gin.Context) {
		u, b, token, err := m.userFromRequest(c, r.backends)
		if err != nil && !errors.Is(err, errRequestRefused) {
			m.internalError(c, err)
			return
		}
		if u != nil && r.check(u) == 0 {
			withUser(c, u, b, token)
		}
		c.Next()
	}
}

// check returns 0 if u meets r, else the status to answer.
func (r requirements) check(u interface{ flags() (bool, bool, bool) }) int {
	active, verified, superuser := u.flags()
	switch {
	case !active && !r.allowInactive:
		return http.StatusUnauthorized
	case r.verified && !verified, r.superuser && !superuser:
		return http.StatusForbidden
	}
	return 0
}

func (u *User[F]) flags() (active, verified, superuser bool) {
	return u.Active, u.Verified, u.Superuser
}

// requireUser authenticates the request and checks r, answering and
// aborting on failure.
func (m *Manager[F]) requireUser(c *gin.Context, r requirements) (*User[F], bool) {
	u, b, token, err := m.userFromRequest(c, r.backends)
	if errors.Is(err, errRequestRefused) {
		c.AbortWithStatusJSON(http.StatusForbidden, detail("Forbidden"))
		return nil, false
	}
	if err != nil {
		m.internalError(c, err)
		return nil, false
	}
	if u == nil {
		m.unauthorized(c)
		return nil, false
	}
	switch r.check(u) {
	case http.StatusUnauthorized:
		m.unauthorized(c)
		return nil, false
	case http.StatusForbidden:
		c.AbortWithStatusJSON(http.StatusForbidden, detail("Forbidden"))
		return nil, false
	}
	withUser(c, u, b, token)
	return u, true
}

// errRequestRefused marks a request that a transport's [RequestChecker]
// refused (a cross-origin request carrying a cookie).
var errRequestRefused = errors.New("ginusers: request refused")

// userFromRequest asks each backend in order for the request's user. A
// missing, invalid or revoked token, or one whose user is gone, moves on to
// the next backend; the result is nil when none yields a user. Only a
// failure of a store is an error. enabled, when not nil, names the only
// backends tried.
func (m *Manager[F]) userFromRequest(c *gin.Context, enabled []string) (*User[F], *Backend, string, error) {
	ctx := c.Request.Context()
	for _, b := range m.backends {
		if enabled != nil && !slices.Contains(enabled, b.name) {
			continue
		}
		token := b.transport.Token(c.Request)
		if token == "" {
			continue
		}
		if rc, ok := b.transport.(RequestChecker); ok {
			if err := rc.CheckRequest(c.Request); err != nil {
				return nil, nil, "", fmt.Errorf("%w: %w", errRequestRefused, err)
			}
		}
		info, err := b.strategy.ReadToken(ctx, token)
		if err != nil {
			if errors.Is(err, ErrInvalidToken) {
				continue
			}
			return nil, nil, "", err
		}
		u, err := m.getUser(ctx, info.UserID)
		if err != nil {
			if errors.Is(err, ErrUserNotFound) {
				continue
			}
			return nil, nil, "", err
		}
		if !info.Irrevocable && (info.Epoch != u.SessionEpoch || info.ID != "" && isRevoked(u.RevokedTokens, info.ID)) {
			continue // a session that was ended
		}
		return u, b, token, nil
	}
	return nil, nil, "", nil
}

func isRevoked(revoked map[string]time.Time, id string) bool {
	_, ok := revoked[id]
	return ok
}

// unauthorized answers 401 {"detail": "Unauthorized"}, announcing the
// bearer scheme when a backend uses it (RFC 6750).
func (m *Manager[F]) unauthorized(c *gin.Context) {
	for _, b := range m.backends {
		if s := b.transport.Scheme(); s != "" {
			c.Header("WWW-Authenticate", s)
			break
		}
	}
	c.AbortWithStatusJSON(http.StatusUnauthorized, detail("Unauthorized"))
}

// internalError logs err and answers 500 without revealing it; a request
// that gave up waiting for a hashing slot answers 503, and so does one whose
// database is unreachable ([ErrUnavailable], with Retry-After).
func (m *Manager[F]) internalError(c *gin.Context, err error) {
	if errors.Is(err, ErrHashingBusy) {
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, detail("Service Unavailable"))
		return
	}
	if errors.Is(err, ErrUnavailable) {
		m.unavailable(c, err)
		return
	}
	m.logger.ErrorContext(c.Request.Context(), "ginusers: request failed", "method", c.Request.Method, "path", c.FullPath(), "error", err)
	c.AbortWithStatusJSON(http.StatusInternalServerError, detail("Internal Server Error"))
}
