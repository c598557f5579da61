package console

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// Default timeouts of a console session.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
)

// maxFormBytes bounds a console form's body: a bulk action on a full page
// of users ([ginusers.MaxListLimit] identifiers) fits many times over.
const maxFormBytes = 256 << 10

// Option configures the console ([Mount]).
type Option func(*config)

type config struct {
	sessions   ginusers.AccessTokenStore
	insecure   bool
	cookieName string
	idle       time.Duration
	absolute   time.Duration
	templates  fs.FS
	messages   map[string]string
	audit      *slog.Logger
	logger     *slog.Logger
	clock      func() time.Time
	origins    []string
}

// WithSessionStore sets where console sessions are kept: a
// [ginusers.AccessTokenStore] (mongostore.NewTokenStore on a collection of
// its own, redisstore, ...). It is required: sessions live on the server,
// so that signing out, "log out everywhere", a deactivation or a demotion
// ends them at once on every instance. The console stores only a digest
// of each session token, distinct from the digests of API tokens, so a
// console session never works as an API token even in a shared store;
// a store of its own keeps them apart anyway.
func WithSessionStore(s ginusers.AccessTokenStore) Option {
	return func(c *config) { c.sessions = s }
}

// WithInsecureCookie drops the Secure attribute and the "__Host-" prefix
// of the console's cookies, so that the console works over plain HTTP on a
// host other than localhost. For local development only: without it the
// cookies are Secure, which browsers honour over HTTPS and on
// http://localhost and http://127.0.0.1.
func WithInsecureCookie() Option { return func(c *config) { c.insecure = true } }

// WithCookieName sets the base name of the session cookie: the default is
// "ginusers-console", sent as "__Host-ginusers-console" (Secure, Path=/,
// no Domain) unless [WithInsecureCookie] is given. The sign-in form's
// cookie has the same name followed by "-signin". Give a name of its own
// to each console on one host.
func WithCookieName(name string) Option { return func(c *config) { c.cookieName = name } }

// WithIdleTimeout sets how long a session lives without a request: the
// default is [DefaultIdleTimeout] (30 minutes). Each request made when
// less than half of it remains gives the session a new token good for the
// full idle time, up to the absolute timeout. Zero or negative is a
// configuration error.
func WithIdleTimeout(d time.Duration) Option { return func(c *config) { c.idle = d } }

// WithAbsoluteTimeout sets how long a session lives at most, however
// active: the default is [DefaultAbsoluteTimeout] (12 hours). It must be at
// least the idle timeout.
func WithAbsoluteTimeout(d time.Duration) Option { return func(c *config) { c.absolute = d } }

// WithTemplates replaces embedded templates by the files of fsys with the
// same names (layout.html, signin.html, users.html, user.html, new.html,
// confirm.html, results.html, error.html, or console.css for the style
// sheet); the other files stay the embedded ones. Templates are
// html/template files; the embedded ones show the data each page gets and
// the blocks it defines. Mount parses them and returns an error if one
// does not parse.
func WithTemplates(fsys fs.FS) Option { return func(c *config) { c.templates = fsys } }

// WithMessages replaces texts of the console by key (see [Messages] for
// the keys and the English defaults); keys not given keep their default.
// An unknown key is a configuration error, so that a typo does not go
// unnoticed, except "field.<json name>": the label of an application field.
func WithMessages(m map[string]string) Option {
	return func(c *config) {
		if c.messages == nil {
			c.messages = map[string]string{}
		}
		for k, v := range m {
			c.messages[k] = v
		}
	}
}

// WithAuditLogger sets the logger of the audit trail: one line per action
// (sign-in, sign-out, every change to a user) with the administrator, the
// action, the user it was done to and the outcome, never a password, token
// or hash. The default is [slog.Default].
func WithAuditLogger(l *slog.Logger) Option { return func(c *config) { c.audit = l } }

// WithLogger sets the logger of failures (a database error, a template
// that fails). The default is [slog.Default].
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the console's clock, for tests. The default is
// [time.Now].
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithTrustedOrigins lets forms posted from these origins (scheme and host,
// "https://admin.example.com") through the cross-origin check; the form
// token is still required. The default is none: only same-origin forms
// pass. An origin that does not parse is a configuration error.
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) { c.origins = append(c.origins, origins...) }
}

func newConfig(opts []Option) (config, error) {
	c := config{idle: DefaultIdleTimeout, absolute: DefaultAbsoluteTimeout, cookieName: "ginusers-console", clock: time.Now}
	for _, o := range opts {
		o(&c)
	}
	if c.audit == nil {
		c.audit = slog.Default()
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	for k := range c.messages {
		if _, ok := defaultMessages[k]; !ok && !strings.HasPrefix(k, "field.") {
			return c, configErrorf("WithMessages: unknown message key %q", k)
		}
	}
	switch {
	case c.sessions == nil:
		return c, configErrorf("WithSessionStore is required")
	case c.idle <= 0:
		return c, configErrorf("idle timeout must be positive, got %v", c.idle)
	case c.absolute < c.idle:
		return c, configErrorf("absolute timeout %v is shorter than the idle timeout %v", c.absolute, c.idle)
	case c.cookieName == "" || !validCookieName(c.cookieName) || strings.HasPrefix(c.cookieName, "__"):
		return c, configErrorf("cookie name %q is not valid (the __Host- prefix is added by the console)", c.cookieName)
	case c.clock == nil:
		return c, configErrorf("clock is nil")
	}
	return c, nil
}

func configErrorf(format string, args ...any) error {
	return &ginusers.ConfigError{Reason: "console: " + fmt.Sprintf(format, args...)}
}

func validCookieName(n string) bool {
	for _, r := range n {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}

// console is a mounted console.
type console[F any] struct {
	m      *ginusers.Manager[F]
	cfg    config
	base   string // the path the console is mounted at, without a trailing slash
	pages  map[string]*template.Template
	css    []byte
	cssTag string // ETag of css
	msgs   map[string]string
	csrf   *http.CrossOriginProtection
	form   *formSpec // the application fields' form
	// cookie names and path
	sessionCookie, signinCookie, cookiePath string
}

// Mount serves the console on r (an engine or a group, such as
// engine.Group("/admin")), for the users of m. It returns a
// [*ginusers.ConfigError] for an invalid configuration (no session store,
// bad timeouts, a template that does not parse, an unknown message key, a
// bad trusted origin, an application field type the form cannot show), and
// mounts nothing then. It does no I/O and starts no goroutine.
//
// Every answer of the console carries its security headers; only the
// routes below are added to r:
//
//	GET  /                        redirects to /users
//	GET  /signin, POST /signin    sign in (active superusers only)
//	POST /signout                 sign out
//	GET  /users                   the list: search, filters, order, pages
//	POST /users/bulk              an action on the selected users
//	GET  /users/new, POST         create a user
//	GET  /users/:id, POST         the user page, and saving its form
//	POST /users/:id/:action       activate, deactivate, promote, demote,
//	                              verify, reset-password, logout-all
//	GET  /users/:id/delete, POST  delete, after a confirmation page
//	GET  /static/console.css      the style sheet
func Mount[F any](r gin.IRouter, m *ginusers.Manager[F], opts ...Option) error {
	if m == nil {
		return configErrorf("the manager is nil")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return err
	}
	c := &console[F]{m: m, cfg: cfg, csrf: http.NewCrossOriginProtection()}
	for _, o := range cfg.origins {
		if err := c.csrf.AddTrustedOrigin(o); err != nil {
			return configErrorf("trusted origin: %v", err)
		}
	}
	c.msgs = make(map[string]string, len(defaultMessages))
	for k, v := range defaultMessages {
		c.msgs[k] = v
	}
	for k, v := range cfg.messages {
		c.msgs[k] = v
	}
	if c.form, err = newFormSpec[F](c.msgs); err != nil {
		return configErrorf("%v", err)
	}
	if err := c.parseTemplates(); err != nil {
		return configErrorf("templates: %v", err)
	}
	g := r.Group("")
	c.base = strings.TrimSuffix(g.BasePath(), "/")
	c.sessionCookie, c.signinCookie, c.cookiePath = "__Host-"+cfg.cookieName, "__Host-"+cfg.cookieName+"-signin", "/"
	if cfg.insecure {
		c.sessionCookie, c.signinCookie = cfg.cookieName, cfg.cookieName+"-signin"
		c.cookiePath = c.base + "/"
	}
	c.routes(g)
	return nil
}

func (c *console[F]) routes(g *gin.RouterGroup) {
	g.Use(c.headers, c.crossOrigin)
	home := func(ctx *gin.Context) { ctx.Redirect(http.StatusSeeOther, c.base+"/users") }
	g.GET("/", home)
	if c.base != "" {
		g.GET("", home)
	}
	g.GET("/static/console.css", c.serveCSS)
	g.GET("/signin", c.signinPage)
	g.POST("/signin", c.signin)
	g.POST("/signout", c.authed(c.signout))
	g.GET("/users", c.authed(c.listPage))
	g.POST("/users/bulk", c.authed(c.bulk))
	g.GET("/users/new", c.authed(c.newPage))
	g.POST("/users/new", c.authed(c.create))
	g.GET("/users/:id", c.authed(c.userPage))
	g.POST("/users/:id", c.authed(c.save))
	g.GET("/users/:id/delete", c.authed(c.deletePage))
	g.POST("/users/:id/:action", c.authed(c.userAction))
}

// errNoSession: the request has no live console session.
var errNoSession = errors.New("console: no session")
