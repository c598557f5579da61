package ginusers

import (
	"context"
	"fmt"
	"net/http"
)

// UserHook is called with a user after (or before) an event.
type UserHook[F any] func(ctx context.Context, u *User[F]) error

// TokenHook is called with a user and a token the application must deliver,
// by e-mail for instance. The token never appears in an HTTP response.
type TokenHook[F any] func(ctx context.Context, u *User[F], token string) error

// UpdateHook is called after an update with the names of the fields it set.
type UpdateHook[F any] func(ctx context.Context, u *User[F], changes Changes) error

// LoginHook is called after a successful sign-in ([Manager.Login],
// [Manager.SignIn]) with the request and the answer the transport
// prepared: nothing is written yet, so the hook may add headers or cookies
// to resp.Header (fastapi-users' on_after_login(user, request, response)).
type LoginHook[F any] func(ctx context.Context, u *User[F], r *http.Request, resp *Response) error

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

// rawHook is a hook as an option recorded it, before [New] checks its type.
type rawHook struct {
	kind hookKind
	fn   any
}

func addHook(kind hookKind, fn any) Option {
	return func(c *config) { c.hooks = append(c.hooks, rawHook{kind, fn}) }
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

// OnAfterLogin adds a hook that runs after a successful sign-in, before the
// answer is written. Its error makes the sign-in fail (the route answers
// 500), and the token issued is ended, so no session outlives it.
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

// typedHooks converts the hooks recorded by options to F's types, keeping
// their order; a hook written for another user type is a configuration
// error.
func typedHooks[F any](raw []rawHook) (hooks[F], error) {
	var h hooks[F]
	add := map[hookKind]func(any) bool{
		hookAfterRegister:       appender(&h.afterRegister),
		hookAfterUpdate:         appender(&h.afterUpdate),
		hookAfterLogin:          appender(&h.afterLogin),
		hookAfterRequestVerify:  appender(&h.afterRequestVerify),
		hookAfterVerify:         appender(&h.afterVerify),
		hookAfterForgotPassword: appender(&h.afterForgotPassword),
		hookAfterResetPassword:  appender(&h.afterResetPassword),
		hookBeforeDelete:        appender(&h.beforeDelete),
		hookAfterDelete:         appender(&h.afterDelete),
		hookValidatePassword:    appender(&h.validators),
	}
	for _, r := range raw {
		if !add[r.kind](r.fn) {
			var zero F
			return h, configErrorf("a hook was written for another user type: got %T, want one for User[%T]", r.fn, zero)
		}
	}
	return h, nil
}

// appender returns a function that appends fn to dst if it is an H.
func appender[H any](dst *[]H) func(fn any) bool {
	return func(fn any) bool {
		f, ok := fn.(H)
		if ok {
			*dst = append(*dst, f)
		}
		return ok
	}
}

// runHooks calls call on each hook in order and returns the first error,
// wrapped with what the hooks are for.
func runHooks[H any](what string, hooks []H, call func(H) error) error {
	for _, h := range hooks {
		if err := call(h); err != nil {
			return fmt.Errorf("ginusers: %s hook: %w", what, err)
		}
	}
	return nil
}

// runUserHooks runs user hooks with ctx and u.
func runUserHooks[F any](ctx context.Context, fns []UserHook[F], u *User[F], what string) error {
	return runHooks(what, fns, func(fn UserHook[F]) error { return fn(ctx, u) })
}
