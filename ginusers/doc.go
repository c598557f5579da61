// Package ginusers provides user management for Gin applications:
// registration, login and logout, e-mail verification, password reset,
// user administration and "log out everywhere", as drop-in route groups
// and middleware. It is the Go counterpart of Python's fastapi-users and
// keeps its HTTP API, so that clients written for fastapi-users work
// unchanged; where fastapi-users has known flaws, ginusers does it right
// (see docs/routes.md).
//
// Quick start (the code samples in docs/ are kept in line with the Example
// functions of this package and with example/main.go):
//
//	type Profile struct {
//		FirstName *string `json:"first_name" bson:"first_name,omitempty" binding:"omitempty,max=100"`
//	}
//
//	store := mongostore.New[Profile](db.Collection("users"))
//	if err := store.EnsureIndexes(ctx); err != nil { ... }
//	m, err := ginusers.New(store, ginusers.WithSecret(secret))
//	if err != nil { ... }
//	r := gin.New()
//	ginusers.Routes(r, m) // /auth/jwt/login, /auth/register, /users/me, ...
//	r.GET("/hello", m.WithUser(func(c *gin.Context, u *ginusers.User[Profile]) {
//		c.String(200, "Hello %s!", u.Email)
//	}))
//
// # Concepts
//
// A [Manager] holds the business rules and exposes them as verbs that know
// nothing of Gin: [Manager.Register], [Manager.Login] and [Manager.SignIn]
// (credentials, the verified-user rule, a token through a backend, the
// after-login hooks with their rollback), [Manager.AuthenticateRequest]
// (which backend, which user, or why not, for any *http.Request),
// [Manager.Update], [Manager.UpdateSafe], [Manager.Delete],
// [Manager.Logout], [Manager.LogoutAll], [Manager.RequestVerification],
// [Manager.Verify], [Manager.RequestPasswordReset],
// [Manager.ResetPassword]. They take a context, so they serve command-line
// tools, jobs and other frameworks too.
//
// A [Store] keeps users; its contract ([Store.Update] writes only the
// fields a change names, under conditions the store checks) is in
// store.go. Module github.com/ginusers/kit/mongostore implements it on
// MongoDB, and package storetest has the conformance suites and an
// in-memory store. [User] is generic over the application's own fields F,
// which are accepted at register, validated with Gin's binding tags,
// stored, returned and patchable, with typed access through
// [Manager.CurrentUser] and [Manager.WithUser] (F inferred).
//
// A [Backend] is one way to authenticate: a [Transport] (where the token
// travels: [BearerTransport], [CookieTransport]) and a [Strategy] (what the
// token is: [JWTStrategy], [DatabaseStrategy] over an [AccessTokenStore] on
// MongoDB or Redis). A Manager tries its backends in order; the default is
// one bearer JWT backend named "jwt".
//
// The HTTP layer is routes as data: a [Route] value per endpoint (method,
// path, authentication, bodies, statuses, error codes, handler), mounted by
// [Mount], which reads the body, authenticates the request once (reusing
// the session of middleware on the group) and maps every error to its
// answer in one place, written by [WithErrorWriter]'s writer. [Routes] and
// the route groups ([AuthRoutes], [RegisterRoutes], [ResetPasswordRoutes],
// [VerifyRoutes], [UsersRoutes], [LogoutAllRoutes]) return the table they
// mounted, for documentation; applications add their own routes the same
// way. Middleware: [RequireUser], [RequireUserFrom], [OptionalUser].
//
// Sign-in with OAuth and OpenID providers lives in the module
// github.com/ginusers/kit/oauth; the core keeps its domain: the accounts
// ([User.OAuthAccounts], [OAuthStore]), the verbs that decide who signs in
// ([Manager.OAuthCallback], [Manager.OAuthAssociate]), the signed state
// ([Manager.IssueOAuthState]) and the sealing of provider tokens
// ([WithOAuthTokenKey], [Manager.OAuthTokens]).
//
// # Surface
//
// Most exported names are what an application configures (options,
// hooks, transports, strategies) or what a third-party store, transport,
// strategy or router implements or calls (the store and token contracts,
// [Route], [Mount], [BindJSON], [RouteForm], [WriteUser],
// [WriteResponse], the sentinel errors). A few stay for reasons worth
// saying: [TokenDigest] is the key format of the [AccessTokenStore]
// contract; [NewInsecureArgon2idHasher] exists so test suites can hash
// cheaply, under a name that says not to use it otherwise; the
// [ErrorCode] constants are fastapi-users' wire values.
//
// # Hooks
//
// Hooks are options: [OnAfterRegister], [OnAfterUpdate], [OnAfterLogin],
// [OnAfterRequestVerify], [OnAfterVerify], [OnAfterForgotPassword],
// [OnAfterResetPassword], [OnBeforeDelete], [OnAfterDelete], and
// [WithPasswordValidator]. Several hooks of one kind run in the order they
// were given. Each hook's documentation says when it fires and what its
// error does. Hooks never see a plaintext password, a password hash or a
// database token.
//
// # Errors
//
// Manager methods return the sentinel errors of this package
// ([ErrUserExists], [ErrInvalidCredentials], [ErrInvalidToken], ...),
// wrapped; compare them with [errors.Is]. A refused password is a
// [*PasswordError]. The routes map them to fastapi-users' status codes and
// [ErrorCode] values; a store error wrapping [ErrUnavailable] (the database
// cannot be reached in time) is logged at WARN and answered 503 with
// Retry-After; other errors are logged and answered with a bare 500.
//
// # Concurrency
//
// A Manager, its backends and the stores of this module are safe for
// concurrent use. Password hashing, the expensive part of a login, is
// bounded by [WithMaxConcurrentHashes], so a flood of logins neither
// exhausts memory nor starves other requests.
//
// # Security
//
// Passwords are hashed with argon2id (OWASP's m=19 MiB, t=2, p=1), and
// bcrypt or argon2id hashes made by fastapi-users are verified and
// upgraded at login. Tokens are HS256 JWTs with exp and iat, a pinned
// algorithm and one audience per purpose, or opaque 256-bit tokens stored
// as SHA-256 digests. Sessions end when they should, by default: a new or
// reset password, a deactivation and logging out everywhere replace the
// user's session epoch ([User.SessionEpoch]), which every token carries,
// and logging out ends the token used. Writes change only the fields they
// mean to change, under conditions the store checks ([Store.Update]). Login costs one hash whether or not the account
// exists; forgot-password and request-verify answer 202 in every case and
// deliver tokens off the request path. Cookie-authenticated unsafe requests
// from other origins are refused. See docs/security.md for what ginusers
// does and what it leaves to the application.
package ginusers
