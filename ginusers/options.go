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
	tokenLifetimeSet bool
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
	cacheSet         bool
	verifySecret     []byte
	verifyLifetime   time.Duration
	resetSecret      []byte
	resetLifetime    time.Duration
	errorWriter      ErrorWriter
	oauthKeys        [][]byte
	oauthStateLife   time.Duration
	hooks            []rawHook
}

// newConfig is the one place that sets every default, applies the options
// in order (later wins, hooks accumulate) and validates the result; it
// returns a [*ConfigError] for an invalid or conflicting configuration.
func newConfig(opts []Option) (config, error) {
	c := config{
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
		errorWriter:      writeJSONError,
		oauthStateLife:   10 * time.Minute,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.verifySecret == nil {
		c.verifySecret = c.secret
	}
	if c.resetSecret == nil {
		c.resetSecret = c.secret
	}
	if c.hasher == nil {
		c.hasher = &Argon2idHasher{params: defaultArgon2idParams}
	}
	switch {
	case c.clock == nil:
		return c, configErrorf("clock is nil")
	case c.errorWriter == nil:
		return c, configErrorf("error writer is nil")
	case len(c.secret) < MinSecretLength:
		return c, configErrorf("WithSecret is required and must be at least %d bytes, got %d", MinSecretLength, len(c.secret))
	case c.maxHashes < 1:
		return c, configErrorf("WithMaxConcurrentHashes must be at least 1, got %d", c.maxHashes)
	case c.minPasswordChars < 0 || c.maxPasswordBytes < 1 || c.maxPasswordBytes < c.minPasswordChars:
		return c, configErrorf("bad password length rule: min %d characters, max %d bytes", c.minPasswordChars, c.maxPasswordBytes)
	case c.deliveryWorkers < 1 || c.deliveryBacklog < 1:
		return c, configErrorf("WithDeliveryQueue needs positive workers and backlog, got %d and %d", c.deliveryWorkers, c.deliveryBacklog)
	case c.maxBodyBytes < 1:
		return c, configErrorf("WithMaxBodyBytes must be positive, got %d", c.maxBodyBytes)
	case c.cacheSet && (c.cacheTTL <= 0 || c.cacheMax < 1):
		return c, configErrorf("WithUserCache needs a positive ttl and size, got %v and %d", c.cacheTTL, c.cacheMax)
	case c.tokenLifetimeSet && len(c.backends) > 0:
		return c, configErrorf("WithTokenLifetime applies to the default backend only; with WithBackends, set the lifetime on the strategies (WithJWTLifetime, WithTokenStoreLifetime)")
	case c.tokenLifetime <= 0:
		return c, configErrorf("WithTokenLifetime must be positive, got %v", c.tokenLifetime)
	case c.oauthStateLife <= 0 || c.oauthStateLife > time.Hour:
		return c, configErrorf("WithOAuthStateLifetime must be positive and at most an hour, got %v", c.oauthStateLife)
	}
	for i, k := range c.oauthKeys {
		if len(k) != oauthKeySize {
			return c, configErrorf("WithOAuthTokenKey: key %d is %d bytes, want %d (AES-256)", i, len(k), oauthKeySize)
		}
	}
	seen := map[string]bool{}
	for i, b := range c.backends {
		if b == nil || b.transport == nil || b.strategy == nil {
			return c, configErrorf("backend %d is nil or lacks a transport or strategy", i)
		}
		n := b.sanitizedName()
		if n == "" {
			return c, configErrorf("backend name %q has no letters", b.name)
		}
		if seen[n] {
			return c, configErrorf("duplicate backend name %q", b.name)
		}
		seen[n] = true
	}
	return c, nil
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
// [New], and so is giving it with [WithBackends] (set the lifetime on those
// backends' strategies instead).
func WithTokenLifetime(d time.Duration) Option {
	return func(c *config) { c.tokenLifetime, c.tokenLifetimeSet = d, true }
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
	return func(c *config) { c.cacheTTL, c.cacheMax, c.cacheSet = ttl, maxEntries, true }
}

// WithErrorWriter replaces how errors are answered, for every route and
// middleware of the package: w receives the status, fastapi-users'
// "detail" and the headers to send (see [HTTPError]) and writes the
// answer, for instance as an HTML page for a console. The default writes
// {"detail": ...} as JSON, as fastapi-users does. Errors that are not the
// client's fault are logged before w is called; w should never show
// HTTPError.Err to the client.
func WithErrorWriter(w ErrorWriter) Option {
	return func(c *config) { c.errorWriter = w }
}

// WithOAuthTokenKey makes the Manager keep the tokens that OAuth providers
// issue (the access and refresh tokens of [OAuthAccount]), sealed with
// AES-256-GCM under key, which must be 32 bytes of random data kept out of
// the database and of source code. Each token is bound to its user,
// provider, account and kind (associated data), so a sealed token copied
// into another entry or user does not open. previous are keys used
// before, still opened (tokens sealed with them are sealed again with key
// at the account's next sign-in), so that the key can be rotated.
//
// Without this option (the default) provider tokens are not stored at
// all: only the link between the user and the account is, which is all
// that signing in needs; tokens that fastapi-users stored in plaintext are
// removed at the account's next sign-in. Give a key when the application
// calls the provider's API with [Manager.OAuthTokens]. Sealing both tokens
// of a sign-in costs a few microseconds of CPU (6 µs measured on a 2-core
// machine, see docs/oauth.md). A key of another length is an error from
// [New].
func WithOAuthTokenKey(key []byte, previous ...[]byte) Option {
	return func(c *config) {
		c.oauthKeys = append([][]byte{key}, previous...)
	}
}

// WithOAuthStateLifetime sets how long the state of an OAuth sign-in (the
// state token and its browser cookie) stays valid: the time a user has to
// sign in at the provider. The default is 10 minutes; it must be positive
// and at most an hour.
func WithOAuthStateLifetime(d time.Duration) Option {
	return func(c *config) { c.oauthStateLife = d }
}
