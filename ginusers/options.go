package ginusers

import (
	"log/slog"
	"runtime"
	"time"
)

// Option configures a [Manager]; pass options to [New]. Later options win
// over earlier ones, except hooks and validators, which accumulate.
type Option func(*config)

type config struct {
	secret           []byte
	tokenLifetime    time.Duration
	backends         []*Backend
	hasher           PasswordHasher
	maxHashes        int
	minPasswordChars int
	maxPasswordBytes int
	logger           *slog.Logger
	clock            func() time.Time
	maxBodyBytes     int64
	requireVerified  bool
	deliveryWorkers  int
	deliveryBacklog  int
	cacheTTL         time.Duration
	cacheMax         int
	verifySecret     []byte
	verifyLifetime   time.Duration
	resetSecret      []byte
	resetLifetime    time.Duration
	hooks            map[hookKind][]any
}

func defaultConfig() config {
	return config{
		tokenLifetime:    time.Hour,
		maxHashes:        max(1, runtime.GOMAXPROCS(0)/2),
		minPasswordChars: 8,
		maxPasswordBytes: 1024,
		logger:           slog.Default(),
		clock:            time.Now,
		maxBodyBytes:     1 << 20,
		verifyLifetime:   time.Hour,
		resetLifetime:    time.Hour,
		deliveryWorkers:  4,
		deliveryBacklog:  256,
		hooks:            map[hookKind][]any{},
	}
}

// WithSecret sets the secret that signs access tokens of the default JWT
// backend, e-mail verification tokens and password-reset tokens (unless
// [WithVerifySecret] or [WithResetSecret] set their own). It is required and
// must be at least [MinSecretLength] bytes of random data; keep it out of
// source code.
func WithSecret(secret []byte) Option {
	return func(c *config) { c.secret = secret }
}

// WithTokenLifetime sets the lifetime of access tokens issued by the default
// JWT backend. The default is one hour; zero or negative is an error from
// [New]. It has no effect with [WithBackends].
func WithTokenLifetime(d time.Duration) Option {
	return func(c *config) { c.tokenLifetime = d }
}

// WithBackends sets the authentication backends, tried in order on every
// request. The default is one backend named "jwt": a [BearerTransport] with a
// [JWTStrategy] signed by the [WithSecret] secret.
func WithBackends(b ...*Backend) Option {
	return func(c *config) { c.backends = b }
}

// WithPasswordHasher replaces the default [Argon2idHasher] (OWASP's
// parameters, m=19 MiB, t=2, p=1).
func WithPasswordHasher(h PasswordHasher) Option {
	return func(c *config) { c.hasher = h }
}

// WithMaxConcurrentHashes bounds how many password hashes or verifications
// run at once; other callers wait for a slot (or for their context to end).
// Each argon2id call holds 19 MiB and a core for tens of milliseconds, so
// the bound keeps a flood of logins from exhausting memory or starving other
// requests. The default is half the usable CPUs, at least 1.
func WithMaxConcurrentHashes(n int) Option {
	return func(c *config) { c.maxHashes = n }
}

// WithPasswordLength sets the password length rule applied before any
// validator: at least minChars characters and at most maxBytes bytes. The
// defaults are 8 and 1,024; NIST recommends a minimum of 15 for accounts
// protected by a password alone.
func WithPasswordLength(minChars, maxBytes int) Option {
	return func(c *config) { c.minPasswordChars, c.maxPasswordBytes = minChars, maxBytes }
}

// WithLogger sets the logger for failures that are not the client's fault
// (a store error, a failing hook) and for authentication events. The default
// is [slog.Default]. Passwords, hashes and tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithClock sets the time source, for tests. The default is [time.Now].
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}

// WithMaxBodyBytes sets the largest request body the routes read; larger
// bodies get 413. The default is 1 MiB.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) { c.maxBodyBytes = n }
}

// WithRequireVerified makes verification mandatory, as fastapi-users'
// requires_verification: login refuses unverified users with
// LOGIN_USER_NOT_VERIFIED, and logout and the users routes answer 403 to
// them. Off by default.
func WithRequireVerified() Option {
	return func(c *config) { c.requireVerified = true }
}

// WithVerifySecret sets a separate secret for e-mail verification tokens
// (at least [MinSecretLength] bytes). The default is the [WithSecret] secret.
func WithVerifySecret(secret []byte) Option {
	return func(c *config) { c.verifySecret = secret }
}

// WithVerifyLifetime sets the lifetime of e-mail verification tokens. The
// default is one hour.
func WithVerifyLifetime(d time.Duration) Option {
	return func(c *config) { c.verifyLifetime = d }
}

// WithResetSecret sets a separate secret for password-reset tokens (at
// least [MinSecretLength] bytes). The default is the [WithSecret] secret.
func WithResetSecret(secret []byte) Option {
	return func(c *config) { c.resetSecret = secret }
}

// WithResetLifetime sets the lifetime of password-reset tokens. The default
// is one hour.
func WithResetLifetime(d time.Duration) Option {
	return func(c *config) { c.resetLifetime = d }
}

// WithDeliveryQueue bounds the delivery of the tokens that the
// forgot-password and request-verify routes hand to the
// [OnAfterForgotPassword] and [OnAfterRequestVerify] hooks, which run off
// the request path: at most workers run at once (each may hold an SMTP
// session for up to a minute), and at most backlog more wait. A request for
// a user whose token is already waiting is coalesced with it; when the
// backlog is full the request is still answered 202 and the token is
// dropped with a log line, so that a flood neither blocks requests nor
// grows memory. The defaults are 4 workers and a backlog of 256; both must
// be positive. [Manager.Shutdown] drains the queue.
func WithDeliveryQueue(workers, backlog int) Option {
	return func(c *config) { c.deliveryWorkers, c.deliveryBacklog = workers, backlog }
}

// WithUserCache keeps the users that authenticate requests in memory for
// ttl (at most maxEntries of them), so that a request carrying a JWT costs
// no database round trip. Changes made through this Manager take effect at
// once; changes made by another instance or directly in the database (a
// deactivation, a new password) take up to ttl to be seen here. Off by default; a few seconds is a reasonable ttl. It does
// not cache database tokens: their lookup is the revocation check.
func WithUserCache(ttl time.Duration, maxEntries int) Option {
	return func(c *config) { c.cacheTTL, c.cacheMax = ttl, maxEntries }
}
