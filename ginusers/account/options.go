package account

import (
	"io/fs"
	"log/slog"

	"github.com/ginusers/kit/ginusers"
)

// Page names one page of the account pages (or the stylesheet they share),
// for [WithPath]. Its value is also the name of the page's template file
// without ".html" (see [WithTemplates]).
type Page string

// The pages, with their default paths (relative to the router given to
// [Mount]).
const (
	// SignIn is the sign-in form, /sign-in. A signed-in visitor sees whom
	// they are signed in as, and a sign-out button.
	SignIn Page = "sign-in"
	// SignOut is the sign-out page, /sign-out: GET asks, POST signs out.
	SignOut Page = "sign-out"
	// Register is the registration form, /register.
	Register Page = "register"
	// ForgotPassword asks for a reset e-mail, /forgot-password.
	ForgotPassword Page = "forgot-password"
	// ResetPassword is where the reset e-mail's link lands,
	// /reset-password?token=...: GET shows the form, POST sets the password.
	// The path must be the one the mail hook links to (ginusers/mail's
	// ResetHook: "/reset-password" by default).
	ResetPassword Page = "reset-password"
	// Verify is where the verification e-mail's link lands,
	// /verify?token=...: GET verifies the address and says so. Without a
	// token it asks for a new verification e-mail. The path must be the one
	// the mail hook links to (ginusers/mail's VerifyHook: "/verify" by
	// default).
	Verify Page = "verify"
	// Stylesheet is the pages' stylesheet, /account.css (the template file
	// "account.css").
	Stylesheet Page = "stylesheet"
)

// allPages are the pages, in the order of the docs.
var allPages = []Page{SignIn, SignOut, Register, ForgotPassword, ResetPassword, Verify, Stylesheet}

var defaultPaths = map[Page]string{
	SignIn: "/sign-in", SignOut: "/sign-out", Register: "/register",
	ForgotPassword: "/forgot-password", ResetPassword: "/reset-password",
	Verify: "/verify", Stylesheet: "/account.css",
}

// Option configures [Mount].
type Option func(*config)

type config struct {
	secret         []byte
	backend        *ginusers.Backend
	afterSignIn    string
	providers      []Provider
	paths          map[Page]string
	templates      fs.FS
	messages       map[string]string
	trusted        []string
	insecureCookie bool
	logger         *slog.Logger
}

// WithSecret sets the key that signs the pages' form tokens (see the
// package documentation, "Forms"). It is required, at least
// [ginusers.MinSecretLength] bytes; the Manager's secret will do, as the
// form key is derived from it for this purpose only. Instances that serve
// the same site need the same secret, or a form rendered by one is refused
// by another.
func WithSecret(secret []byte) Option {
	return func(c *config) { c.secret = secret }
}

// WithBackend sets the backend that the sign-in page signs users in
// through and that the sign-out page signs them out of: one of the
// Manager's backends whose transport answers a login with a cookie, such
// as one with a [ginusers.CookieTransport]. The default is the first such
// backend of the Manager; [Mount] fails when there is none, or when the
// backend given does not set a cookie.
func WithBackend(b *ginusers.Backend) Option {
	return func(c *config) { c.backend = b }
}

// WithAfterSignIn sets where the sign-in page sends a user it signed in,
// when the form carries no acceptable "next" path: a local path such as
// "/" or "/dashboard" (an absolute URL, or a path to another host such as
// "//evil.example", makes [Mount] fail). The default is the sign-in page,
// which then shows whom the visitor is signed in as.
func WithAfterSignIn(path string) Option {
	return func(c *config) { c.afterSignIn = path }
}

// Provider is a way to sign in other than the password: a link the
// sign-in and register pages show as "Sign in with <Label>".
type Provider struct {
	// Label names the provider to people ("Google", "Example SSO").
	Label string
	// Path is where the link goes: a local path that starts the provider's
	// flow and sends the browser to it, such as package oauth's
	// "/auth/<name>/authorize?browser=1&redirect=/sign-in" (a cookie
	// backend, with /sign-in among its redirect targets). An absolute URL
	// or a path to another host makes [Mount] fail.
	Path string
}

// WithProviders lists the providers the sign-in and register pages offer,
// in this order, below the password form.
func WithProviders(providers ...Provider) Option {
	return func(c *config) { c.providers = append(c.providers, providers...) }
}

// WithPath sets the path of page p, relative to the router given to
// [Mount]: it must begin with "/", hold no query, fragment or Gin
// parameter, and differ from the others; otherwise [Mount] fails. The
// defaults are listed with the [Page] constants. When the pages are mounted
// on a group or on other paths, give the mail hooks the same paths
// (ginusers/mail's WithPath), or the e-mailed links lead nowhere.
func WithPath(p Page, path string) Option {
	return func(c *config) {
		if c.paths == nil {
			c.paths = map[Page]string{}
		}
		c.paths[p] = path
	}
}

// WithTemplates replaces templates: a file of fsys named like an embedded
// one ("layout.html", "sign-in.html", "account.css", ...; see the package
// documentation, "Customising") is used instead of it; the others stay.
// The default is none. A template that does not parse makes [Mount] fail.
func WithTemplates(fsys fs.FS) Option {
	return func(c *config) { c.templates = fsys }
}

// WithMessages replaces texts of the pages: each key of msgs (one of
// [DefaultMessages]'s) gets the value given; the others keep theirs. A
// key that is not one of them makes [Mount] fail, so that a typing
// mistake does not go unnoticed. Later calls add to earlier ones.
func WithMessages(msgs map[string]string) Option {
	return func(c *config) {
		if c.messages == nil {
			c.messages = map[string]string{}
		}
		for k, v := range msgs {
			c.messages[k] = v
		}
	}
}

// WithTrustedOrigins lets forms of these other origins (scheme and host,
// such as "https://www.example.com") post to the pages, which otherwise
// refuse a cross-origin post ([http.CrossOriginProtection]). The form
// token is still required. The default is none; an origin that does not
// parse makes [Mount] fail. Signing in from such an origin also needs the
// backend's transport to trust it ([ginusers.WithTrustedOrigins]).
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) { c.trusted = append(c.trusted, origins...) }
}

// WithInsecureCookie drops the Secure attribute of the pages' own cookie
// (the one that the form token is checked against) and, with it, the
// "__Host-" prefix of its name, so that the pages work over plain HTTP, for
// local development only. The default cookie is
// "__Host-ginusers-csrf", Secure, HttpOnly, SameSite=Strict, Path=/.
func WithInsecureCookie() Option {
	return func(c *config) { c.insecureCookie = true }
}

// WithLogger sets the logger of the pages' failures (a store that does
// not answer, a template that fails); the default is [slog.Default]. Nil
// discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.logger = l
	}
}
