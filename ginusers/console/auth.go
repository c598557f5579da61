package console

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// contentSecurityPolicy allows the console's own style sheet, images of its
// own or inline data: images, forms posted to itself, nothing else: no
// script at all (the console works without JavaScript), no framing.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the security headers of every console answer. Referrer-Policy
// is same-origin rather than no-referrer: under no-referrer a browser sends
// "Origin: null" with the console's own forms, which a browser that does
// not send Sec-Fetch-Site (plain HTTP to a host other than localhost) would
// then have refused by the cross-origin check; same-origin still sends no
// Referer to another site.
func (c *console[F]) headers(g *gin.Context) {
	h := g.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	g.Next()
}

// crossOrigin refuses unsafe requests that a browser reports as coming
// from another origin ([http.CrossOriginProtection]; trusted origins of
// [WithTrustedOrigins] pass), before anything else reads them.
func (c *console[F]) crossOrigin(g *gin.Context) {
	if err := c.csrf.Check(g.Request); err != nil {
		c.auditLog(g, nil, "cross_origin_request", nil, "refused", "reason", err.Error())
		c.errorPage(g, nil, http.StatusForbidden, "error.cross_origin")
		g.Abort()
		return
	}
	g.Next()
}

// signinData is the data of the sign-in page.
type signinData struct {
	Email string
	Next  string
}

// signinPage shows the sign-in form, or sends a signed-in administrator on.
func (c *console[F]) signinPage(g *gin.Context) {
	next := c.safeNext(g.Query("next"))
	if _, _, err := c.authenticate(g); err == nil {
		g.Redirect(http.StatusSeeOther, next)
		return
	}
	c.renderSignin(g, http.StatusOK, "", next, "")
}

// renderSignin shows the sign-in form. The form carries a token keyed by a
// cookie of its own (set here if missing), so that another site cannot
// sign the browser in to an account of its choosing (login CSRF).
func (c *console[F]) renderSignin(g *gin.Context, status int, errKey, next, email string) {
	key := c.signinKey(g)
	if key == nil {
		key = randomBytes(32)
		c.setCookie(g, c.signinCookie, b64.EncodeToString(key), 0)
	}
	p := &page{CSRF: formToken(key, purposeSignin), Data: signinData{Email: email, Next: c.safeNext(next)}}
	if errKey != "" {
		p.Error = c.msg(errKey)
	}
	c.render(g, nil, status, "signin", p)
}

// signinKey returns the key in the sign-in cookie, or nil.
func (c *console[F]) signinKey(g *gin.Context) []byte {
	ck, err := g.Request.Cookie(c.signinCookie)
	if err != nil || len(ck.Value) != 43 { // 32 bytes, and no line breaks the decoder would skip
		return nil
	}
	key, err := b64.DecodeString(ck.Value)
	if err != nil || len(key) != 32 {
		return nil
	}
	return key
}

// signin signs an active superuser in, by the kit's own rules
// ([ginusers.Manager.Authenticate]: the hashing bound, a dummy hash for an
// unknown address, an outdated hash upgraded). Every failure (an unknown
// address, a wrong password, an inactive user, a user who is not a
// superuser) gets the same page and status; the audit log says which.
func (c *console[F]) signin(g *gin.Context) {
	if err := c.parseForm(g); err != nil {
		c.fail(g, nil, err)
		return
	}
	form := g.Request.PostForm
	email, password, next := form.Get("email"), form.Get("password"), form.Get("next")
	key := c.signinKey(g)
	if key == nil || !checkFormToken(key, purposeSignin, form.Get("csrf")) {
		c.auditLog(g, nil, "sign_in", nil, "refused", "email", auditEmail(email), "reason", "sign-in form token missing or wrong")
		c.renderSignin(g, http.StatusForbidden, "signin.expired", next, email)
		return
	}
	ctx := g.Request.Context()
	u, err := c.m.Authenticate(ctx, email, password)
	reason := "invalid credentials"
	if err == nil && !u.Superuser {
		err, reason = ginusers.ErrInvalidCredentials, "not a superuser"
	}
	if errors.Is(err, ginusers.ErrInvalidCredentials) {
		c.auditLog(g, nil, "sign_in", nil, "refused", "email", auditEmail(email), "reason", reason)
		c.renderSignin(g, http.StatusForbidden, "signin.failed", next, email)
		return
	}
	if err != nil {
		c.fail(g, nil, err)
		return
	}
	s, err := c.startSession(ctx, u)
	if err != nil {
		c.fail(g, nil, err)
		return
	}
	c.setCookie(g, c.sessionCookie, s.value, 0)
	c.setCookie(g, c.signinCookie, "", -1)
	c.auditLog(g, u, "sign_in", nil, "ok")
	g.Redirect(http.StatusSeeOther, c.safeNext(next))
}

// signout ends the session: its record is deleted, so the cookie is dead
// even if the browser kept it.
func (c *console[F]) signout(g *gin.Context, req *request[F]) {
	if _, err := c.cfg.sessions.DeleteToken(g.Request.Context(), req.sess.token.Digest); err != nil {
		c.fail(g, req, err)
		return
	}
	c.setCookie(g, c.sessionCookie, "", -1)
	c.auditLog(g, req.admin, "sign_out", nil, "ok")
	g.Redirect(http.StatusSeeOther, c.base+"/signin?notice=signed_out")
}
