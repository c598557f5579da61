package ginusers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
)

// ResetPasswordRoutes mounts the password-reset routes on r:
//
//	POST /forgot-password: JSON {"email"}. Always 202 with body null for a
//	valid address (422 otherwise), whether or not a user has it. For an
//	active user, a reset token goes to the [OnAfterForgotPassword] hooks,
//	which run after the response, off the request path.
//
//	POST /reset-password: JSON {"token", "password"}. 200 with body null;
//	400 RESET_PASSWORD_BAD_TOKEN; 400 {"code":
//	"RESET_PASSWORD_INVALID_PASSWORD", "reason": ...}; 422.
func ResetPasswordRoutes[F any](r gin.IRouter, m *Manager[F]) {
	r.POST("/forgot-password", m.handleForgotPassword)
	r.POST("/reset-password", m.handleResetPassword)
}

// VerifyRoutes mounts the e-mail verification routes on r:
//
//	POST /request-verify-token: JSON {"email"}. Always 202 with body null
//	for a valid address (422 otherwise). For an active, unverified user, a
//	verification token goes to the [OnAfterRequestVerify] hooks, which run
//	after the response, off the request path.
//
//	POST /verify: JSON {"token"}. 200 with the user, now verified; 400
//	VERIFY_USER_BAD_TOKEN; 400 VERIFY_USER_ALREADY_VERIFIED; 422.
func VerifyRoutes[F any](r gin.IRouter, m *Manager[F]) {
	r.POST("/request-verify-token", m.handleRequestVerify)
	r.POST("/verify", m.handleVerify)
}

// readFields reads a JSON object and the named required string fields.
func (m *Manager[F]) readFields(c *gin.Context, email bool, names ...string) (map[string]string, bool) {
	obj, rerr := readJSONObject(c, m.cfg.maxBodyBytes)
	if rerr != nil {
		rerr.write(c)
		return nil, false
	}
	out := map[string]string{}
	var errs []FieldError
	for _, n := range names {
		var s *string
		var fe *FieldError
		if email && n == "email" {
			s, fe = obj.email(n, true)
		} else {
			s, fe = obj.str(n, true, false)
		}
		if fe != nil {
			errs = append(errs, *fe)
			continue
		}
		out[n] = *s
	}
	if len(errs) > 0 {
		unprocessable(errs...).write(c)
		return nil, false
	}
	return out, true
}

func (m *Manager[F]) handleForgotPassword(c *gin.Context) {
	m.sendToken(c, "forgot-password", func(u *User[F]) bool { return u.Active }, m.ForgotPassword)
}

func (m *Manager[F]) handleResetPassword(c *gin.Context) {
	in, ok := m.readFields(c, false, "token", "password")
	if !ok {
		return
	}
	_, err := m.ResetPassword(c.Request.Context(), in["token"], in["password"])
	switch {
	case errors.Is(err, ErrInvalidToken):
		badRequest(c, CodeResetPasswordBadToken)
	case passwordRejected(c, err, CodeResetPasswordInvalidPassword):
	case err != nil:
		m.internalError(c, err)
	default:
		c.JSON(http.StatusOK, nil)
	}
}

func (m *Manager[F]) handleRequestVerify(c *gin.Context) {
	m.sendToken(c, "request-verify", func(u *User[F]) bool { return u.Active && !u.Verified }, m.RequestVerify)
}

// sendToken serves forgot-password and request-verify-token: it reads
// {"email"} and, when a user has that address and is eligible, has issue
// make and deliver a token off the request path. The answer is 202 null
// either way, so it tells nothing about the address.
func (m *Manager[F]) sendToken(c *gin.Context, what string, eligible func(*User[F]) bool, issue func(context.Context, *User[F]) error) {
	in, ok := m.readFields(c, true, "email")
	if !ok {
		return
	}
	u, err := m.store.GetByEmail(c.Request.Context(), in["email"])
	if err != nil && !errors.Is(err, ErrUserNotFound) {
		m.internalError(c, err)
		return
	}
	if err == nil && eligible(u) {
		m.deliver(c.Request.Context(), what, u.ID, eligible, issue)
	}
	c.JSON(http.StatusAccepted, nil)
}

func (m *Manager[F]) handleVerify(c *gin.Context) {
	in, ok := m.readFields(c, false, "token")
	if !ok {
		return
	}
	u, err := m.Verify(c.Request.Context(), in["token"])
	switch {
	case errors.Is(err, ErrInvalidToken):
		badRequest(c, CodeVerifyUserBadToken)
	case errors.Is(err, ErrAlreadyVerified):
		badRequest(c, CodeVerifyUserAlreadyVerified)
	case err != nil:
		m.internalError(c, err)
	default:
		writeUser(c, http.StatusOK, u)
	}
}
