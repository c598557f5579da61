package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// maxFormBytes bounds a posted form: an e-mail address, a password of at
// most a few KiB, a token and the form token fit many times over.
const maxFormBytes = 64 << 10

// Mount mounts the account pages of m on r (see the package
// documentation), at the paths of [WithPath], and returns an error for an
// invalid configuration: no [WithSecret], no backend that signs in with a
// cookie, a bad path, an unknown message key, a template that does not
// parse, a bad trusted origin. It mounts nothing then.
func Mount[F any](r gin.IRouter, m *ginusers.Manager[F], opts ...Option) error {
	if m == nil {
		return errors.New("account: nil Manager")
	}
	cfg := config{logger: slog.Default()}
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.secret) < ginusers.MinSecretLength {
		return fmt.Errorf("account: WithSecret is required, at least %d bytes, got %d", ginusers.MinSecretLength, len(cfg.secret))
	}
	p := &pages[F]{m: m, cfg: cfg, log: cfg.logger, tokens: newFormTokens(cfg.secret, cfg.insecureCookie)}
	var err error
	if p.backend, err = cookieBackend(m, cfg.backend); err != nil {
		return err
	}
	rel, err := pagePaths(cfg.paths)
	if err != nil {
		return err
	}
	base := ""
	if g, ok := r.(interface{ BasePath() string }); ok {
		base = strings.TrimSuffix(g.BasePath(), "/")
	}
	full := func(pg Page) string { return base + rel[pg] }
	p.paths = Paths{
		SignIn: full(SignIn), SignOut: full(SignOut), Register: full(Register),
		ForgotPassword: full(ForgotPassword), ResetPassword: full(ResetPassword),
		Verify: full(Verify), Stylesheet: full(Stylesheet),
	}
	p.afterSignIn = p.paths.SignIn
	if cfg.afterSignIn != "" {
		if !localPath(cfg.afterSignIn) {
			return fmt.Errorf("account: WithAfterSignIn(%q) is not a local path", cfg.afterSignIn)
		}
		p.afterSignIn = cfg.afterSignIn
	}
	for _, pr := range cfg.providers {
		if strings.TrimSpace(pr.Label) == "" || !localPath(pr.Path) {
			return fmt.Errorf("account: WithProviders: provider %q: a label and a local path are required (got path %q)", pr.Label, pr.Path)
		}
	}
	p.providers = slices.Clone(cfg.providers)
	msgs := maps.Clone(defaultMessages)
	for _, k := range slices.Sorted(maps.Keys(cfg.messages)) {
		if _, ok := msgs[k]; !ok {
			return fmt.Errorf("account: WithMessages: unknown key %q", k)
		}
		msgs[k] = cfg.messages[k]
	}
	p.msgs = msgs
	if p.render, err = newRenderer(cfg.templates, msgs); err != nil {
		return err
	}
	p.cop = http.NewCrossOriginProtection()
	for _, o := range cfg.trusted {
		if err := p.cop.AddTrustedOrigin(o); err != nil {
			return fmt.Errorf("account: WithTrustedOrigins: %w", err)
		}
	}

	r.GET(rel[SignIn], p.signInPage)
	r.POST(rel[SignIn], p.post(SignIn, p.signIn))
	r.GET(rel[SignOut], p.signOutPage)
	r.POST(rel[SignOut], p.post(SignOut, p.signOut))
	r.GET(rel[Register], p.sentOrForm(Register))
	r.POST(rel[Register], p.post(Register, p.register))
	r.GET(rel[ForgotPassword], p.sentOrForm(ForgotPassword))
	r.POST(rel[ForgotPassword], p.post(ForgotPassword, p.requestLink(ForgotPassword, p.paths.ForgotPassword, m.RequestPasswordReset)))
	r.GET(rel[ResetPassword], p.resetPage)
	r.POST(rel[ResetPassword], p.post(ResetPassword, p.resetPassword))
	r.GET(rel[Verify], p.verifyPage)
	r.POST(rel[Verify], p.post(Verify, p.requestLink(Verify, p.paths.Verify, m.RequestVerification)))
	r.GET(rel[Stylesheet], p.stylesheet)
	return nil
}

// cookieBackend returns b, or the first backend of m whose login sets a
// cookie when b is nil, checking that it is one of m's and sets a cookie.
func cookieBackend[F any](m *ginusers.Manager[F], b *ginusers.Backend) (*ginusers.Backend, error) {
	setsCookie := func(b *ginusers.Backend) bool {
		resp := b.Transport().LoginResponse("probe")
		return resp != nil && len(resp.Header.Values("Set-Cookie")) > 0
	}
	if b == nil {
		for _, c := range m.Backends() {
			if setsCookie(c) {
				return c, nil
			}
		}
		return nil, errors.New("account: the Manager has no backend that signs in with a cookie (a CookieTransport): add one, or name it with WithBackend")
	}
	if !slices.Contains(m.Backends(), b) {
		return nil, fmt.Errorf("account: WithBackend: backend %q is not one of the Manager's", b.Name())
	}
	if !setsCookie(b) {
		return nil, fmt.Errorf("account: WithBackend: backend %q does not sign in with a cookie", b.Name())
	}
	return b, nil
}

// pagePaths returns the paths of the pages, the defaults replaced by set,
// and checks them.
func pagePaths(set map[Page]string) (map[Page]string, error) {
	out := maps.Clone(defaultPaths)
	for pg, path := range set {
		if _, ok := out[pg]; !ok {
			return nil, fmt.Errorf("account: WithPath: unknown page %q", pg)
		}
		out[pg] = path
	}
	seen := map[string]Page{}
	for _, pg := range allPages {
		path := out[pg]
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.ContainsAny(path, "?#:*\\ ") || !localPath(path) {
			return nil, fmt.Errorf("account: WithPath(%q, %q): a path must begin with a single / and hold no query, fragment, parameter or space", pg, path)
		}
		if other, ok := seen[path]; ok {
			return nil, fmt.Errorf("account: WithPath: %q and %q have the same path %q", other, pg, path)
		}
		seen[path] = pg
	}
	return out, nil
}

// localPath reports whether s is a path on this site, fit for a redirect:
// it begins with one "/" (not "//", which browsers read as another host,
// nor "/\", which they read the same way), and holds no backslash, no
// control character (browsers drop tabs and line breaks, so "/\t/evil"
// would become "//evil"), no non-ASCII byte, and no scheme or host.
func localPath(s string) bool {
	if s == "" || len(s) > 2048 || s[0] != '/' || len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == ""
}

// pages serves the account pages of one Manager.
type pages[F any] struct {
	m           *ginusers.Manager[F]
	cfg         config
	log         *slog.Logger
	backend     *ginusers.Backend
	paths       Paths
	afterSignIn string
	providers   []Provider
	tokens      *formTokens
	cop         *http.CrossOriginProtection
	render      *renderer
	msgs        map[string]string
}

// data returns the data of page pg for c, with a form token (setting the
// form cookie when the request has none).
func (p *pages[F]) data(c *gin.Context, pg Page) *Data {
	return &Data{Page: pg, Paths: p.paths, Providers: p.providers, CSRFToken: p.tokens.ensure(c.Writer, c.Request)}
}

// show writes page t with d and status, with the security headers.
func (p *pages[F]) show(c *gin.Context, status int, t Page, d *Data) {
	setSecurityHeaders(c.Writer.Header())
	body, err := p.render.render(t, d)
	if err != nil {
		p.log.ErrorContext(c.Request.Context(), "account: page failed", "page", d.Page, "template", t, "error", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("Internal Server Error\n"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", body)
}

// failure answers a request that cannot be served: 403 for a refused form,
// 413 for one too large, 503 when the database or the password hashing is
// not available (with Retry-After), 500 otherwise (logged).
func (p *pages[F]) failure(c *gin.Context, pg Page, err error) {
	d := p.data(c, pg)
	status := http.StatusInternalServerError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, errForbidden), errors.Is(err, ginusers.ErrCrossOrigin):
		status, d.State = http.StatusForbidden, "forbidden"
	case errors.As(err, &tooLarge):
		status, d.State = http.StatusRequestEntityTooLarge, "too-large"
	case errors.Is(err, ginusers.ErrUnavailable), errors.Is(err, ginusers.ErrHashingBusy):
		status, d.State = http.StatusServiceUnavailable, "unavailable"
		c.Header("Retry-After", strconv.Itoa(ginusers.RetryAfterUnavailable))
		p.log.WarnContext(c.Request.Context(), "account: service unavailable", "page", pg, "error", err)
	default:
		d.State = "internal"
		p.log.ErrorContext(c.Request.Context(), "account: request failed", "page", pg, "error", err)
	}
	p.show(c, status, failurePage, d)
}

// errForbidden is a form refused by the cross-origin check or for its
// form token.
var errForbidden = errors.New("account: form refused")

// redirect answers 303 See Other to a local path.
func (p *pages[F]) redirect(c *gin.Context, path string) {
	setSecurityHeaders(c.Writer.Header())
	c.Header("Location", path)
	c.Status(http.StatusSeeOther)
	c.Writer.WriteHeaderNow()
}

// post returns the handler of a form post to page pg: it refuses a
// cross-origin post, reads the form (urlencoded, within maxFormBytes),
// checks its form token, then calls fn with the posted fields (never the
// query's).
func (p *pages[F]) post(pg Page, fn func(c *gin.Context, form url.Values)) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if err := p.cop.Check(r); err != nil {
			p.failure(c, pg, fmt.Errorf("%w: %w", errForbidden, err))
			return
		}
		r.Body = http.MaxBytesReader(c.Writer, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			var tooLarge *http.MaxBytesError
			if !errors.As(err, &tooLarge) {
				err = fmt.Errorf("%w: %w", errForbidden, err)
			}
			p.failure(c, pg, err)
			return
		}
		if !p.tokens.check(r, r.PostForm.Get(csrfField)) {
			p.failure(c, pg, fmt.Errorf("%w: missing or wrong form token", errForbidden))
			return
		}
		fn(c, r.PostForm)
	}
}

// session returns the session of the request on the pages' backend, if
// it has one of an active user.
func (p *pages[F]) session(c *gin.Context) *ginusers.Session[F] {
	s, err := p.m.AuthenticateRequest(c.Request, p.backend)
	if err != nil || s.Check() != nil {
		return nil
	}
	return s
}

// required fills errs with the message of each empty field of names.
func (p *pages[F]) required(form url.Values, errs map[string]string, names ...string) {
	for _, n := range names {
		if form.Get(n) == "" {
			errs[n] = p.msgs["error.required"]
		}
	}
}

// emailError is the message of an address that is not valid.
func (p *pages[F]) emailError(reason string) string {
	return p.msgs["error.email_invalid"] + ": " + reason + "."
}

// signInPage shows the sign-in form, or whom the visitor is signed in as.
func (p *pages[F]) signInPage(c *gin.Context) {
	d := p.data(c, SignIn)
	if s := p.session(c); s != nil {
		d.State, d.User = "signed-in", s.User.Email
	}
	if next := c.Query("next"); localPath(next) {
		d.Next = next
	}
	switch c.Query("done") {
	case "password-reset":
		d.Notice = p.msgs["sign_in.password_reset"]
	case "signed-out":
		d.Notice = p.msgs["sign_in.signed_out"]
	}
	p.show(c, http.StatusOK, SignIn, d)
}

// signIn signs the user in through the pages' backend and sends them to
// the "next" path of the form if it is local, else to WithAfterSignIn's.
// An unknown address, a wrong password and an inactive account get one
// message, and cost one password hash each ([ginusers.Manager.Login]).
func (p *pages[F]) signIn(c *gin.Context, form url.Values) {
	d := p.data(c, SignIn)
	d.Email, d.Errors = form.Get("email"), map[string]string{}
	if next := form.Get("next"); localPath(next) {
		d.Next = next
	}
	p.required(form, d.Errors, "email", "password")
	if len(d.Errors) > 0 {
		p.show(c, http.StatusUnprocessableEntity, SignIn, d)
		return
	}
	_, resp, err := p.m.Login(c.Request.Context(), p.backend, c.Request, d.Email, form.Get("password"))
	switch {
	case errors.Is(err, ginusers.ErrInvalidCredentials):
		d.Errors["form"] = p.msgs["sign_in.bad_credentials"]
		p.show(c, http.StatusBadRequest, SignIn, d)
		return
	case errors.Is(err, ginusers.ErrUserNotVerified):
		d.Errors["form"] = p.msgs["sign_in.not_verified"]
		p.show(c, http.StatusBadRequest, SignIn, d)
		return
	case err != nil:
		p.failure(c, SignIn, err)
		return
	}
	for k, vs := range resp.Header {
		if k == "Cache-Control" {
			continue // no-store, set below
		}
		for _, v := range vs {
			c.Writer.Header().Add(k, v)
		}
	}
	target := p.afterSignIn
	if d.Next != "" {
		target = d.Next
	}
	p.redirect(c, target)
}

// signOutPage asks whether to sign out (a GET changes nothing).
func (p *pages[F]) signOutPage(c *gin.Context) {
	d := p.data(c, SignOut)
	if s := p.session(c); s != nil {
		d.User = s.User.Email
	}
	p.show(c, http.StatusOK, SignOut, d)
}

// signOut ends the session of the request on the pages' backend, clears
// its cookie, and goes to the sign-in page.
func (p *pages[F]) signOut(c *gin.Context, _ url.Values) {
	s, err := p.m.AuthenticateRequest(c.Request, p.backend)
	switch {
	case err == nil:
		if err := p.m.Logout(c.Request.Context(), s); err != nil {
			p.failure(c, SignOut, err)
			return
		}
	case errors.Is(err, ginusers.ErrUnauthenticated):
	default:
		p.failure(c, SignOut, err)
		return
	}
	for _, v := range p.backend.Transport().LogoutResponse().Header.Values("Set-Cookie") {
		c.Writer.Header().Add("Set-Cookie", v)
	}
	p.redirect(c, p.paths.SignIn+"?done=signed-out")
}

// sentOrForm shows the form of page pg, or its "check your e-mail" state
// after a post (?done=sent).
func (p *pages[F]) sentOrForm(pg Page) gin.HandlerFunc {
	return func(c *gin.Context) {
		d := p.data(c, pg)
		if c.Query("done") == "sent" {
			d.State = "sent"
		}
		p.show(c, http.StatusOK, pg, d)
	}
}

// register creates the account, as the API's register route does, then
// has a verification e-mail sent. An address that has an account already
// gets the same answer: nothing is created, the same password-hashing work
// is done, and the owner is sent a password-reset e-mail instead (see the
// package documentation, "No enumeration").
func (p *pages[F]) register(c *gin.Context, form url.Values) {
	ctx := c.Request.Context()
	d := p.data(c, Register)
	d.Email, d.Errors = form.Get("email"), map[string]string{}
	p.required(form, d.Errors, "email", "password")
	if len(d.Errors) > 0 {
		p.show(c, http.StatusUnprocessableEntity, Register, d)
		return
	}
	password := form.Get("password")
	u, err := p.m.Register(ctx, ginusers.UserCreate[F]{Email: d.Email, Password: password})
	var emailErr *ginusers.EmailError
	var passwordErr *ginusers.PasswordError
	switch {
	case errors.As(err, &emailErr):
		d.Errors["email"] = p.emailError(emailErr.Reason)
		p.show(c, http.StatusUnprocessableEntity, Register, d)
		return
	case errors.As(err, &passwordErr):
		d.Errors["password"] = passwordErr.Reason
		p.show(c, http.StatusBadRequest, Register, d)
		return
	case errors.Is(err, ginusers.ErrUserExists):
		// The address as Register found it taken: normalised (spaces
		// around it, a display name), or the reset request below misses
		// the account and sends no e-mail.
		email, nerr := ginusers.NormalizeEmail(d.Email)
		if nerr != nil {
			p.failure(c, Register, nerr)
			return
		}
		if err := p.spendHash(ctx, password); err != nil {
			p.failure(c, Register, err)
			return
		}
		err = p.m.RequestPasswordReset(ctx, email)
	case u != nil:
		if err != nil {
			// The account was stored; an after-register hook failed.
			p.log.ErrorContext(ctx, "account: after-register hook failed", "user_id", u.ID, "error", err)
		}
		err = p.m.RequestVerification(ctx, u.Email)
	}
	if err != nil {
		p.failure(c, Register, err)
		return
	}
	p.redirect(c, p.paths.Register+"?done=sent")
}

// spendHash does the password-hashing work of a registration for an
// address that has an account already: one hash with the current
// settings, as creating the account costs (not a check against the stored
// hash, whose algorithm and cost may be others), so that timing does not
// tell the two apart.
func (p *pages[F]) spendHash(ctx context.Context, password string) error {
	if err := p.m.SpendHash(ctx, password); errors.Is(err, ginusers.ErrHashingBusy) {
		return err
	}
	return nil
}

// normalizedEmail checks the form's address, filling d.Errors, and
// returns its normalised form.
func (p *pages[F]) normalizedEmail(form url.Values, d *Data) (string, bool) {
	d.Email, d.Errors = form.Get("email"), map[string]string{}
	p.required(form, d.Errors, "email")
	if len(d.Errors) > 0 {
		return "", false
	}
	email, err := ginusers.NormalizeEmail(d.Email)
	if err != nil {
		d.Errors["email"] = p.emailError(err.Error())
		return "", false
	}
	return email, true
}

// requestLink returns the handler of a form that asks for a link by
// e-mail (forgot-password, the verification request): request has the
// e-mail sent if the address has an account that may have one, and the
// answer is the same either way: 303 to path?done=sent.
func (p *pages[F]) requestLink(pg Page, path string, request func(ctx context.Context, email string) error) func(c *gin.Context, form url.Values) {
	return func(c *gin.Context, form url.Values) {
		d := p.data(c, pg)
		email, ok := p.normalizedEmail(form, d)
		if !ok {
			p.show(c, http.StatusUnprocessableEntity, pg, d)
			return
		}
		if err := request(c.Request.Context(), email); err != nil {
			p.failure(c, pg, err)
			return
		}
		p.redirect(c, path+"?done=sent")
	}
}

// resetPage shows the form of the reset link. The token is not checked,
// let alone used, by a GET: mail scanners fetch links.
func (p *pages[F]) resetPage(c *gin.Context) {
	d := p.data(c, ResetPassword)
	d.Token = c.Query("token")
	if d.Token == "" {
		d.State = "bad-token"
		p.show(c, http.StatusBadRequest, ResetPassword, d)
		return
	}
	p.show(c, http.StatusOK, ResetPassword, d)
}

// resetPassword sets the new password with the token of the form, as the
// API's reset-password route does, and sends the user to sign in.
func (p *pages[F]) resetPassword(c *gin.Context, form url.Values) {
	ctx := c.Request.Context()
	d := p.data(c, ResetPassword)
	d.Token, d.Errors = form.Get("token"), map[string]string{}
	if d.Token == "" {
		d.State = "bad-token"
		p.show(c, http.StatusBadRequest, ResetPassword, d)
		return
	}
	p.required(form, d.Errors, "password")
	if len(d.Errors) > 0 {
		p.show(c, http.StatusUnprocessableEntity, ResetPassword, d)
		return
	}
	u, err := p.m.ResetPassword(ctx, d.Token, form.Get("password"))
	var passwordErr *ginusers.PasswordError
	switch {
	case errors.Is(err, ginusers.ErrInvalidToken):
		d.State = "bad-token"
		p.show(c, http.StatusBadRequest, ResetPassword, d)
		return
	case errors.As(err, &passwordErr):
		d.Errors["password"] = passwordErr.Reason
		p.show(c, http.StatusBadRequest, ResetPassword, d)
		return
	case u == nil && err != nil:
		p.failure(c, ResetPassword, err)
		return
	case err != nil:
		// The password was changed; ending the sessions or a hook failed.
		p.log.ErrorContext(ctx, "account: after reset-password", "user_id", u.ID, "error", err)
	}
	p.redirect(c, p.paths.SignIn+"?done=password-reset")
}

// verifyPage verifies the address of the link's token and says so; without
// a token, it asks for a new verification e-mail.
func (p *pages[F]) verifyPage(c *gin.Context) {
	ctx := c.Request.Context()
	d := p.data(c, Verify)
	token := c.Query("token")
	if token == "" {
		if c.Query("done") == "sent" {
			d.State = "sent"
		}
		p.show(c, http.StatusOK, Verify, d)
		return
	}
	u, err := p.m.Verify(ctx, token)
	switch {
	case errors.Is(err, ginusers.ErrAlreadyVerified):
		d.State = "already-verified"
		p.show(c, http.StatusBadRequest, Verify, d)
		return
	case errors.Is(err, ginusers.ErrInvalidToken):
		d.State = "bad-token"
		p.show(c, http.StatusBadRequest, Verify, d)
		return
	case u == nil && err != nil:
		p.failure(c, Verify, err)
		return
	case err != nil:
		// The address was verified; an after-verify hook failed.
		p.log.ErrorContext(ctx, "account: after-verify hook failed", "user_id", u.ID, "error", err)
	}
	d.State = "verified"
	p.show(c, http.StatusOK, Verify, d)
}

// stylesheet serves the pages' stylesheet.
func (p *pages[F]) stylesheet(c *gin.Context) {
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/css; charset=utf-8", p.render.css)
}
