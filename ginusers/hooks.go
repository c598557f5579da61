package ginusers

import (
	"context"
	"fmt"

	"github.com/gin-gonic/gin"
)

// UserHook is called with a user after (or before) an event.
type UserHook[F any] func(ctx context.Context, u *User[F]) error

// TokenHook is called with a user and a token the application must deliver,
// by e-mail for instance. The token never appears in an HTTP response.
type TokenHook[F any] func(ctx context.Context, u *User[F], token string) error

// UpdateHook is called after an update with the names of the fields it set.
type UpdateHook[F any] func(ctx context.Context, u *User[F], changes Changes) error

// LoginHook is called after a successful login through the HTTP routes, with
// the request's Gin context: the transport has prepared the response but
// nothing is written yet, so the hook may add headers or cookies.
type LoginHook[F any] func(c *gin.Context, u *User[F]) error

// PasswordValidator checks a password for a user before it is hashed. On
// register u is the user about to be created (its Email and Fields set, no
// ID yet). Return a [*PasswordError] to reject the password with a reason
// shown to the client; any other error is a failure (500).
type PasswordValidator[F any] func(ctx context.Context, password string, u *User[F]) error

type hookKind int

const (
	hookAfterRegister hookKind = iota
	hookAfterUpdate
	hookAfterLogin
	hookAfterRequestVerify
	hookAfterVerify
	hookAfterForgotPassword
	hookAfterResetPassword
	hookBeforeDelete
	hookAfterDelete
	hookValidatePassword
)

func addHook(kind hookKind, fn any) Option {
	return func(c *config) { c.hooks[kind] = append(c.hooks[kind], fn) }
}

// OnAfterRegister adds a hook that runs after a user was created by
// [Manager.Register] or [Manager.Create] (the user is stored). Its error is
// returned by the method, wrapped, and the register route answers 500; the
// user still exists. Hooks run in the order they were added; the first
// error stops the rest.
func OnAfterRegister[F any](fn UserHook[F]) Option { return addHook(hookAfterRegister, fn) }

// OnAfterUpdate adds a hook that runs after [Manager.Update] or
// [Manager.UpdateSafe] stored a change, with the names of the fields set
// (never their values: a hook learns that the password changed, not to
// what). Its error is returned wrapped; the change is kept.
func OnAfterUpdate[F any](fn UpdateHook[F]) Option { return addHook(hookAfterUpdate, fn) }

// OnAfterLogin adds a hook that runs after a successful login through the
// login route, before the response is written. Its error makes the route
// answer 500, and the token issued is not sent.
func OnAfterLogin[F any](fn LoginHook[F]) Option { return addHook(hookAfterLogin, fn) }

// OnAfterRequestVerify adds a hook that receives a new e-mail verification
// token for an active, unverified user; the application sends it. Its error
// is logged; the route still answers 202, so that responses do not reveal
// which addresses exist.
func OnAfterRequestVerify[F any](fn TokenHook[F]) Option {
	return addHook(hookAfterRequestVerify, fn)
}

// OnAfterVerify adds a hook that runs after a user was marked verified with
// a verification token (it is stored). Its error is returned wrapped.
func OnAfterVerify[F any](fn UserHook[F]) Option { return addHook(hookAfterVerify, fn) }

// OnAfterForgotPassword adds a hook that receives a new password-reset token
// for an active user; the application sends it. Its error is logged; the
// route still answers 202.
func OnAfterForgotPassword[F any](fn TokenHook[F]) Option {
	return addHook(hookAfterForgotPassword, fn)
}

// OnAfterResetPassword adds a hook that runs after a password was reset with
// a reset token (the new hash is stored). Its error is returned wrapped.
func OnAfterResetPassword[F any](fn UserHook[F]) Option {
	return addHook(hookAfterResetPassword, fn)
}

// OnBeforeDelete adds a hook that runs before [Manager.Delete] removes a
// user. Its error cancels the deletion and is returned wrapped.
func OnBeforeDelete[F any](fn UserHook[F]) Option { return addHook(hookBeforeDelete, fn) }

// OnAfterDelete adds a hook that runs after [Manager.Delete] removed a user.
// Its error is returned wrapped; the user is gone.
func OnAfterDelete[F any](fn UserHook[F]) Option { return addHook(hookAfterDelete, fn) }

// WithPasswordValidator adds a password validator. Validators run in order
// after the length rule of [WithPasswordLength], whenever a password is set:
// on register, on update and on reset.
func WithPasswordValidator[F any](fn PasswordValidator[F]) Option {
	return addHook(hookValidatePassword, fn)
}

// hooks holds the typed hooks of a Manager.
type hooks[F any] struct {
	afterRegister, afterVerify, afterResetPassword, beforeDelete, afterDelete []UserHook[F]
	afterUpdate                                                               []UpdateHook[F]
	afterLogin                                                                []LoginHook[F]
	afterRequestVerify, afterForgotPassword                                   []TokenHook[F]
	validators                                                                []PasswordValidator[F]
}

// typed converts the hooks registered by options to F's types; a hook
// written for another user type is a configuration error.
func typedHooks[F any](raw map[hookKind][]any) (hooks[F], error) {
	var h hooks[F]
	for kind, fns := range raw {
		for _, fn := range fns {
			ok := true
			switch kind {
			case hookAfterRegister, hookAfterVerify, hookAfterResetPassword, hookBeforeDelete, hookAfterDelete:
				var f UserHook[F]
				if f, ok = fn.(UserHook[F]); ok {
					switch kind {
					case hookAfterRegister:
						h.afterRegister = append(h.afterRegister, f)
					case hookAfterVerify:
						h.afterVerify = append(h.afterVerify, f)
					case hookAfterResetPassword:
						h.afterResetPassword = append(h.afterResetPassword, f)
					case hookBeforeDelete:
						h.beforeDelete = append(h.beforeDelete, f)
					case hookAfterDelete:
						h.afterDelete = append(h.afterDelete, f)
					}
				}
			case hookAfterUpdate:
				var f UpdateHook[F]
				if f, ok = fn.(UpdateHook[F]); ok {
					h.afterUpdate = append(h.afterUpdate, f)
				}
			case hookAfterLogin:
				var f LoginHook[F]
				if f, ok = fn.(LoginHook[F]); ok {
					h.afterLogin = append(h.afterLogin, f)
				}
			case hookAfterRequestVerify, hookAfterForgotPassword:
				var f TokenHook[F]
				if f, ok = fn.(TokenHook[F]); ok {
					if kind == hookAfterRequestVerify {
						h.afterRequestVerify = append(h.afterRequestVerify, f)
					} else {
						h.afterForgotPassword = append(h.afterForgotPassword, f)
					}
				}
			case hookValidatePassword:
				var f PasswordValidator[F]
				if f, ok = fn.(PasswordValidator[F]); ok {
					h.validators = append(h.validators, f)
				}
			}
			if !ok {
				var zero F
				return h, configErrorf("a hook was written for another user type: got %T, want one for User[%T]", fn, zero)
			}
		}
	}
	return h, nil
}

func runUserHooks[F any](ctx context.Context, fns []UserHook[F], u *User[F], what string) error {
	for _, fn := range fns {
		if err := fn(ctx, u); err != nil {
			return fmt.Errorf("ginusers: %s hook: %w", what, err)
		}
	}
	return nil
}
