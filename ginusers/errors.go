package ginusers

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by [Manager] methods and [Store] implementations.
// Compare them with [errors.Is]: implementations wrap them with more context.
var (
	// ErrUserNotFound is returned when no user has the given id or e-mail. An
	// id that the store cannot parse counts as not found.
	ErrUserNotFound = errors.New("ginusers: user not found")

	// ErrUserExists is returned by [Manager.Register], [Manager.Create] and
	// the update methods when another user already has the e-mail address
	// (compared case-insensitively).
	ErrUserExists = errors.New("ginusers: user already exists")

	// ErrInvalidCredentials is returned by [Manager.Authenticate] for an
	// unknown e-mail, a wrong password and an inactive user alike, so that
	// callers cannot tell which.
	ErrInvalidCredentials = errors.New("ginusers: invalid credentials")

	// ErrConflict is returned (wrapped) by [Store.Update] when the user
	// exists but a condition of the write no longer holds: the user changed
	// since the caller read it, and nothing was written.
	ErrConflict = errors.New("ginusers: the user changed meanwhile")

	// ErrUnauthenticated is returned by [Manager.AuthenticateRequest] when
	// no backend yields a user for the request: no token, or a malformed,
	// forged, expired, revoked or other-purpose one, or one whose user is
	// gone. The routes answer it 401.
	ErrUnauthenticated = errors.New("ginusers: not authenticated")

	// ErrCrossOrigin is returned by [Manager.AuthenticateRequest] and
	// [Manager.Login] when a transport that must vet requests
	// ([RequestChecker], the cookie) refuses one: an unsafe request that
	// a browser marked cross-origin. The routes answer it 403.
	ErrCrossOrigin = errors.New("ginusers: cross-origin request refused")

	// ErrNotSuperuser is returned by [Session.Check] when [Superuser] is
	// required and the user is not one. The routes answer it 403.
	ErrNotSuperuser = errors.New("ginusers: not a superuser")

	// ErrInvalidPassword is matched by every [*PasswordError] (with
	// [errors.Is]), so a refused password can be told apart without
	// [errors.As].
	ErrInvalidPassword = errors.New("ginusers: invalid password")

	// ErrSessionEnded is returned (wrapped) by [Manager.UpdateSafe] when the
	// user's sessions were ended (a new session epoch) after the user was
	// read for the request: the request belongs to an ended session. The
	// routes answer it 401.
	ErrSessionEnded = errors.New("ginusers: the session has ended")

	// ErrUserInactive is returned when an operation needs an active user.
	ErrUserInactive = errors.New("ginusers: user is inactive")

	// ErrUserNotVerified is returned by [Manager.Login] and [Manager.SignIn]
	// when verification is required ([WithRequireVerified]) and the user has
	// not verified the address, and by [Session.Check] when [Verified] is
	// required.
	ErrUserNotVerified = errors.New("ginusers: user is not verified")

	// ErrAlreadyVerified is returned when verifying a user who is verified already.
	ErrAlreadyVerified = errors.New("ginusers: user is already verified")

	// ErrInvalidToken is returned for a token that is malformed, forged,
	// expired, made for another purpose or for a user who no longer matches.
	ErrInvalidToken = errors.New("ginusers: invalid token")

	// ErrNotSupported is returned by a [Strategy] that cannot do what was
	// asked, such as destroying a stateless JWT.
	ErrNotSupported = errors.New("ginusers: not supported")

	// ErrTokenNotFound is returned by an [AccessTokenStore] for an unknown
	// token digest.
	ErrTokenNotFound = errors.New("ginusers: access token not found")

	// ErrTokenExists is returned by an [AccessTokenStore] when a token
	// digest is stored already.
	ErrTokenExists = errors.New("ginusers: access token already exists")

	// ErrUnavailable is returned (wrapped) by stores when the database
	// cannot be reached in time: no server could be selected before the
	// driver's timeout, the connection failed, or an operation timed out.
	// Stores wrap it together with the driver's error, so both can be
	// matched with [errors.Is] and [errors.As]. A cancelled context is not
	// unavailability: stores return the context's error without it. The
	// routes answer it 503 Service Unavailable with a Retry-After header
	// and log it at WARN; how long a request waits before it fails is up to
	// the store's database client (see docs/mongostore.md).
	ErrUnavailable = errors.New("ginusers: database unavailable")

	// ErrTokenExpired is wrapped, beside [ErrInvalidToken], in the error
	// for a token that is valid but expired ([Manager.ReadOAuthState]
	// reports an expired state with it).
	ErrTokenExpired = errors.New("ginusers: token expired")

	// ErrOAuthAccountTaken is returned (wrapped) by [Manager.OAuthAssociate]
	// and by [OAuthStore] implementations when the provider account is
	// linked to a user already (another one, or, for AddOAuthAccount, the
	// same one). The OAuth routes answer it 400 OAUTH_USER_ALREADY_EXISTS.
	ErrOAuthAccountTaken = errors.New("ginusers: the OAuth account is linked to a user already")

	// ErrOAuthAccountNotFound is returned (wrapped) when a user has no
	// linked account of that provider and id.
	ErrOAuthAccountNotFound = errors.New("ginusers: no such OAuth account")

	// ErrOAuthNoEmail is returned by [Manager.OAuthCallback] and
	// [Manager.OAuthAssociate] when the provider gave no valid e-mail
	// address, and by [Manager.OAuthCallback] when it would make a user
	// with an address the provider does not vouch for. The OAuth routes
	// answer it 400 OAUTH_NOT_AVAILABLE_EMAIL.
	ErrOAuthNoEmail = errors.New("ginusers: the OAuth provider gave no e-mail address")

	// ErrOAuthUnsupported is returned by the OAuth verbs of the [Manager]
	// when its store does not implement [OAuthStore].
	ErrOAuthUnsupported = errors.New("ginusers: the store does not keep OAuth accounts")

	// ErrHashingBusy is returned when the context ends while waiting for a
	// free password-hashing slot (see [WithMaxConcurrentHashes]).
	ErrHashingBusy = errors.New("ginusers: password hashing is busy")
)

// PasswordError is returned when a password validator rejects a password.
// Reason is shown to the client, so it must not reveal secrets.
type PasswordError struct {
	Reason string
}

func (e *PasswordError) Error() string { return "ginusers: invalid password: " + e.Reason }

// Is reports whether target is [ErrInvalidPassword].
func (e *PasswordError) Is(target error) bool { return target == ErrInvalidPassword }

// ErrorCode is an error code of the HTTP API, sent as the "detail" of a 400
// response. The values are those of fastapi-users, so its clients keep working.
type ErrorCode string

// The error codes of the HTTP API.
const (
	CodeRegisterInvalidPassword      ErrorCode = "REGISTER_INVALID_PASSWORD"
	CodeRegisterUserAlreadyExists    ErrorCode = "REGISTER_USER_ALREADY_EXISTS"
	CodeLoginBadCredentials          ErrorCode = "LOGIN_BAD_CREDENTIALS"
	CodeLoginUserNotVerified         ErrorCode = "LOGIN_USER_NOT_VERIFIED"
	CodeResetPasswordBadToken        ErrorCode = "RESET_PASSWORD_BAD_TOKEN"
	CodeResetPasswordInvalidPassword ErrorCode = "RESET_PASSWORD_INVALID_PASSWORD"
	CodeVerifyUserBadToken           ErrorCode = "VERIFY_USER_BAD_TOKEN"
	CodeVerifyUserAlreadyVerified    ErrorCode = "VERIFY_USER_ALREADY_VERIFIED"
	CodeUpdateUserEmailAlreadyExists ErrorCode = "UPDATE_USER_EMAIL_ALREADY_EXISTS"
	CodeUpdateUserInvalidPassword    ErrorCode = "UPDATE_USER_INVALID_PASSWORD"
	CodeOAuthNotAvailableEmail       ErrorCode = "OAUTH_NOT_AVAILABLE_EMAIL"
	CodeOAuthUserAlreadyExists       ErrorCode = "OAUTH_USER_ALREADY_EXISTS"
	CodeOAuthInvalidState            ErrorCode = "OAUTH_INVALID_STATE"
	CodeAccessTokenAlreadyExpired    ErrorCode = "ACCESS_TOKEN_ALREADY_EXPIRED"
	CodeAccessTokenDecodeError       ErrorCode = "ACCESS_TOKEN_DECODE_ERROR"
)

// ConfigError is returned by [New] and the constructors of strategies for
// an invalid configuration.
type ConfigError struct {
	Reason string
}

func (e *ConfigError) Error() string { return "ginusers: invalid configuration: " + e.Reason }

func configErrorf(format string, args ...any) error {
	return &ConfigError{Reason: fmt.Sprintf(format, args...)}
}
