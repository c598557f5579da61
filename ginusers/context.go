package ginusers

import (
	"context"

	"github.com/gin-gonic/gin"
)

// The current user is stored twice by [RequireUser] and [OptionalUser]: in
// the Gin context, read by [CurrentUser], and in the request's context, read
// by [UserFromContext] in code that only sees c.Request.Context(). The keys
// are unexported types, so no other package can read or forge them.
type (
	userKey  struct{}
	loginKey struct{}
)

// login records which backend and token authenticated a request, for logout.
type login struct {
	backend *Backend
	token   string
}

// CurrentUser returns the user that [RequireUser] or [OptionalUser]
// authenticated for this request, or (nil, false) when there is none or
// when F is not the manager's field type. It never panics.
func CurrentUser[F any](c *gin.Context) (*User[F], bool) {
	v, ok := c.Get(userKey{})
	if !ok {
		return nil, false
	}
	u, ok := v.(*User[F])
	return u, ok && u != nil
}

// UserFromContext returns the user that [RequireUser] or [OptionalUser]
// stored in the request's context, or (nil, false).
func UserFromContext[F any](ctx context.Context) (*User[F], bool) {
	u, ok := ctx.Value(userKey{}).(*User[F])
	return u, ok && u != nil
}

// withUser stores u in both contexts.
func withUser[F any](c *gin.Context, u *User[F], b *Backend, token string) {
	c.Set(userKey{}, u)
	c.Set(loginKey{}, login{backend: b, token: token})
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), userKey{}, u))
}

func currentLogin(c *gin.Context) (login, bool) {
	v, ok := c.Get(loginKey{})
	if !ok {
		return login{}, false
	}
	l, ok := v.(login)
	return l, ok
}
