package ginusers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// ErrUnavailable is returned (wrapped) by stores when the database cannot
// be reached in time: no server could be selected before the driver's
// timeout, the connection failed, or an operation timed out. Stores wrap it
// together with the driver's error, so both can be matched with
// [errors.Is] and [errors.As]. A cancelled context is not unavailability:
// stores return the context's error without ErrUnavailable.
//
// The routes and middleware answer it with 503 Service Unavailable,
// {"detail": "Service Unavailable"} and a Retry-After header, and log it
// at WARN level; the error text is never sent to the client. How long a
// request waits before it fails is up to the store's database client (see
// docs/mongostore.md for MongoDB).
var ErrUnavailable = errors.New("ginusers: database unavailable")

// RetryAfterUnavailable is the Retry-After, in seconds, of the 503 answer
// to [ErrUnavailable].
const RetryAfterUnavailable = 5

// unavailable answers 503 {"detail": "Service Unavailable"} with a
// Retry-After header for err, which wraps [ErrUnavailable], and logs it at
// WARN level.
func (m *Manager[F]) unavailable(c *gin.Context, err error) {
	m.logger.WarnContext(c.Request.Context(), "ginusers: database unavailable", "method", c.Request.Method, "path", c.FullPath(), "error", err)
	c.Header("Retry-After", strconv.Itoa(RetryAfterUnavailable))
	c.AbortWithStatusJSON(http.StatusServiceUnavailable, detail("Service Unavailable"))
}
