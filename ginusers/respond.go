package ginusers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
)

// codeBody is the body of a 400 answer with a structured detail.
type codeBody struct {
	Code   ErrorCode `json:"code"`
	Reason string    `json:"reason"`
}

// badRequest answers 400 {"detail": code}.
func badRequest(c *gin.Context, code ErrorCode) {
	c.AbortWithStatusJSON(http.StatusBadRequest, detail(code))
}

// passwordRejected answers 400 {"detail": {"code": code, "reason": ...}} if
// err is a [*PasswordError], and reports whether it did.
func passwordRejected(c *gin.Context, err error, code ErrorCode) bool {
	var pe *PasswordError
	if !errors.As(err, &pe) {
		return false
	}
	c.AbortWithStatusJSON(http.StatusBadRequest, detail(codeBody{Code: code, Reason: pe.Reason}))
	return true
}

// emailRejected answers 422 if err is an [*EmailError], and reports whether
// it did.
func emailRejected(c *gin.Context, err error) bool {
	var ee *EmailError
	if !errors.As(err, &ee) {
		return false
	}
	c.AbortWithStatusJSON(http.StatusUnprocessableEntity, ValidationErrors{Detail: []FieldError{
		fieldErr("value_error", "value is not a valid email address: "+ee.Reason, "email"),
	}})
	return true
}

func (re *requestError) write(c *gin.Context) {
	c.AbortWithStatusJSON(re.status, re.body)
}

func notFound(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusNotFound, detail("Not Found"))
}

// ConfigureEngine makes e answer like FastAPI for routes it does not have:
// 405 {"detail": "Method Not Allowed"} for a known path with another method
// (with an Allow header), and 404 {"detail": "Not Found"} for an unknown
// path. [Routes] calls it when given an *gin.Engine.
func ConfigureEngine(e *gin.Engine) {
	e.HandleMethodNotAllowed = true
	e.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, detail("Method Not Allowed"))
	})
	e.NoRoute(notFound)
}

// writeUser answers with the user's JSON, written once: gin's c.JSON would
// re-encode the output of [User.MarshalJSON].
func writeUser[F any](c *gin.Context, status int, u *User[F]) {
	b, err := u.MarshalJSON()
	if err != nil {
		_ = c.Error(err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, detail("Internal Server Error"))
		return
	}
	c.Data(status, "application/json; charset=utf-8", b)
}
