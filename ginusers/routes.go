package ginusers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Routes mounts the routes of fastapi-users' full example on r:
//
//	POST   /auth/<backend>/login    log in (form: username, password)      200 / 204
//	POST   /auth/<backend>/logout   log out                                 204
//	POST   /auth/logout-all         end every session of the current user   204
//	POST   /auth/register           create an account (JSON)                201
//	POST   /auth/forgot-password    ask for a password-reset token          202
//	POST   /auth/reset-password     set a new password with the token       200
//	POST   /auth/request-verify-token  ask for a verification token         202
//	POST   /auth/verify             verify the e-mail with the token        200
//	GET    /users/me                the current user                        200
//	PATCH  /users/me                update the current user                 200
//	GET    /users/:id               a user (superuser)                      200
//	PATCH  /users/:id               update a user (superuser)               200
//	DELETE /users/:id               delete a user (superuser)               204
//
// with one login/logout pair per backend of m. When r is an *gin.Engine it
// also calls [ConfigureEngine], so wrong methods get 405. Each group is also
// available on its own: [AuthRoutes], [RegisterRoutes],
// [ResetPasswordRoutes], [VerifyRoutes], [UsersRoutes].
func Routes[F any](r gin.IRouter, m *Manager[F]) {
	if e, ok := r.(*gin.Engine); ok {
		ConfigureEngine(e)
	}
	for _, b := range m.backends {
		AuthRoutes(r.Group("/auth/"+b.name), m, b)
	}
	auth := r.Group("/auth")
	LogoutAllRoutes(auth, m)
	RegisterRoutes(auth, m)
	ResetPasswordRoutes(auth, m)
	VerifyRoutes(auth, m)
	UsersRoutes(r.Group("/users"), m)
}

// AuthRoutes mounts the login and logout routes of backend b on r:
//
//	POST /login: form fields username (the e-mail) and password; optional
//	OAuth2 fields grant_type (must be "password"), scope, client_id and
//	client_secret are ignored. Answers the transport's login response (200
//	bearer JSON, 204 with a cookie), 400 LOGIN_BAD_CREDENTIALS for an unknown
//	e-mail, a wrong password or an inactive user, 400 LOGIN_USER_NOT_VERIFIED
//	with [WithRequireVerified], 422 for a missing field or a JSON body.
//
//	POST /logout: requires an active user (401) and, with
//	[WithRequireVerified], a verified one (403). Ends the session of the
//	token that authenticated the request, whichever backend it came from
//	([Manager.Logout]: a stored token is deleted, a JWT revoked), then
//	answers this backend's logout response (204).
func AuthRoutes[F any](r gin.IRouter, m *Manager[F], b *Backend) {
	r.POST("/login", m.handleLogin(b))
	r.POST("/logout", m.handleLogout(b))
}

// LogoutAllRoutes mounts the "log out everywhere" route on r:
//
//	POST /logout-all: requires an active user (401) and, with
//	[WithRequireVerified], a verified one (403). Calls [Manager.LogoutAll]:
//	every token issued so far is refused, JWTs included, and every stored
//	token of the user is deleted. Answers the
//	logout response of the backend that authenticated the request (204,
//	clearing the cookie for a cookie backend).
func LogoutAllRoutes[F any](r gin.IRouter, m *Manager[F]) {
	r.POST("/logout-all", m.handleLogoutAll)
}

// RegisterRoutes mounts the registration route on r:
//
//	POST /register: JSON {"email", "password", ...application fields}.
//	Answers 201 with the user; 400 REGISTER_USER_ALREADY_EXISTS; 400
//	{"code": "REGISTER_INVALID_PASSWORD", "reason": ...}; 422 for a missing
//	or invalid field; 413 for a body over [WithMaxBodyBytes]. is_active,
//	is_superuser, is_verified and id are ignored.
func RegisterRoutes[F any](r gin.IRouter, m *Manager[F]) {
	r.POST("/register", m.handleRegister)
}

// UsersRoutes mounts the users routes on r. All require an active user
// (401) and, with [WithRequireVerified], a verified one (403):
//
//	GET /me, PATCH /me: the current user. PATCH takes any of email,
//	password and the application fields; is_active, is_superuser,
//	is_verified and id are ignored. A new e-mail makes the user unverified.
//	400 UPDATE_USER_EMAIL_ALREADY_EXISTS, 400 {"code":
//	"UPDATE_USER_INVALID_PASSWORD", "reason": ...}, 422.
//
//	GET /:id, PATCH /:id, DELETE /:id: superusers only (403 before any
//	lookup); 404 for an unknown or malformed id. PATCH may also set the
//	flags; DELETE answers 204.
func UsersRoutes[F any](r gin.IRouter, m *Manager[F]) {
	r.GET("/me", m.handleMe)
	r.PATCH("/me", m.handlePatchMe)
	r.GET("/:id", m.handleGetUser)
	r.PATCH("/:id", m.handlePatchUser)
	r.DELETE("/:id", m.handleDeleteUser)
}

func (m *Manager[F]) baseRequirements(extra ...Requirement) requirements {
	r := makeRequirements(extra)
	r.verified = r.verified || m.cfg.requireVerified
	return r
}

func (m *Manager[F]) handleLogin(b *Backend) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		if rc, ok := b.transport.(RequestChecker); ok {
			// Login CSRF: a cross-site form must not log the browser in.
			if err := rc.CheckRequest(c.Request); err != nil {
				c.AbortWithStatusJSON(http.StatusForbidden, detail("Forbidden"))
				return
			}
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, m.cfg.maxBodyBytes)
		var form map[string][]string
		mt, _, _ := mime.ParseMediaType(c.ContentType())
		switch mt {
		case "application/x-www-form-urlencoded":
			if err := c.Request.ParseForm(); err != nil {
				m.formError(c, err)
				return
			}
			form = c.Request.PostForm
		case "multipart/form-data":
			if err := c.Request.ParseMultipartForm(m.cfg.maxBodyBytes); err != nil {
				m.formError(c, err)
				return
			}
			form = c.Request.MultipartForm.Value
		}
		get := func(k string) string {
			if v := form[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		username, password := get("username"), get("password")
		var errs []FieldError
		if username == "" {
			errs = append(errs, fieldErr("missing", "Field required", "username"))
		}
		if password == "" {
			errs = append(errs, fieldErr("missing", "Field required", "password"))
		}
		if gt, ok := form["grant_type"]; ok && len(gt) > 0 && gt[0] != "" && gt[0] != "password" {
			errs = append(errs, fieldErr("string_pattern_mismatch", "String should match pattern '^password$'", "grant_type"))
		}
		if len(errs) > 0 {
			unprocessable(errs...).write(c)
			return
		}
		u, err := m.Authenticate(ctx, username, password)
		if errors.Is(err, ErrInvalidCredentials) {
			// Enough to spot brute force (the account tried, the client as
			// Gin resolves it with the app's trusted proxies), never the
			// password.
			m.logger.InfoContext(ctx, "ginusers: login failed", "backend", b.name,
				"email", loggedEmail(username), "client_ip", c.ClientIP())
			badRequest(c, CodeLoginBadCredentials)
			return
		}
		if err != nil {
			m.internalError(c, err)
			return
		}
		if m.cfg.requireVerified && !u.Verified {
			badRequest(c, CodeLoginUserNotVerified)
			return
		}
		token, err := b.strategy.WriteToken(ctx, TokenSubject{UserID: u.ID, Epoch: u.SessionEpoch})
		if err != nil {
			m.internalError(c, err)
			return
		}
		status, body := b.transport.LoginResponse(c, token)
		for _, fn := range m.hooks.afterLogin {
			if err := fn(c, u); err != nil {
				// The login failed: take back the cookie the transport set,
				// and the token where the strategy can.
				c.Writer.Header().Del("Set-Cookie")
				if derr := b.strategy.DestroyToken(ctx, token); derr != nil && !errors.Is(derr, ErrNotSupported) {
					err = errors.Join(err, derr)
				}
				m.internalError(c, err)
				return
			}
		}
		m.logger.InfoContext(ctx, "ginusers: login", "backend", b.name, "user_id", u.ID, "client_ip", c.ClientIP())
		writeResponse(c, status, body)
	}
}

func (m *Manager[F]) formError(c *gin.Context, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, detail("Request Entity Too Large"))
		return
	}
	unprocessable(fieldErr("missing", "Field required", "username"), fieldErr("missing", "Field required", "password")).write(c)
}

// loggedEmail is the form of a login name that goes into the log: the
// normalised address when it is one; otherwise (a password typed in the
// wrong field, garbage) never the text itself, but "invalid:" and the
// first 12 hex digits of its SHA-256, enough to see repeated attempts.
func loggedEmail(username string) string {
	if e, err := NormalizeEmail(username); err == nil {
		return e
	}
	sum := sha256.Sum256([]byte(username))
	return "invalid:" + hex.EncodeToString(sum[:6])
}

func writeResponse(c *gin.Context, status int, body any) {
	if body == nil {
		c.Status(status)
		c.Writer.WriteHeaderNow()
		return
	}
	c.JSON(status, body)
}

func (m *Manager[F]) handleLogout(b *Backend) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, ok := m.requireUser(c, m.baseRequirements())
		if !ok {
			return
		}
		l, _ := currentLogin(c)
		if err := m.Logout(c.Request.Context(), u, l.backend, l.token); err != nil {
			m.internalError(c, err)
			return
		}
		status, body := b.transport.LogoutResponse(c)
		writeResponse(c, status, body)
	}
}

func (m *Manager[F]) handleLogoutAll(c *gin.Context) {
	u, ok := m.requireUser(c, m.baseRequirements())
	if !ok {
		return
	}
	l, _ := currentLogin(c)
	if err := m.LogoutAll(c.Request.Context(), u); err != nil {
		m.internalError(c, err)
		return
	}
	status, body := l.backend.transport.LogoutResponse(c)
	writeResponse(c, status, body)
}

func (m *Manager[F]) handleRegister(c *gin.Context) {
	obj, rerr := readJSONObject(c, m.cfg.maxBodyBytes)
	if rerr != nil {
		rerr.write(c)
		return
	}
	var errs []FieldError
	email, fe := obj.email("email", true)
	if fe != nil {
		errs = append(errs, *fe)
	}
	password, fe := obj.str("password", true, false)
	if fe != nil {
		errs = append(errs, *fe)
	}
	for _, name := range []string{"is_active", "is_superuser", "is_verified"} {
		if _, fe := obj.boolean(name, true); fe != nil {
			errs = append(errs, *fe)
		}
	}
	var fields F
	_, ferrs := decodeFields(obj, &fields, true)
	errs = append(errs, ferrs...)
	if len(errs) > 0 {
		unprocessable(errs...).write(c)
		return
	}
	u, err := m.Register(c.Request.Context(), UserCreate[F]{Email: *email, Password: *password, Fields: fields})
	switch {
	case errors.Is(err, ErrUserExists):
		badRequest(c, CodeRegisterUserAlreadyExists)
	case passwordRejected(c, err, CodeRegisterInvalidPassword), emailRejected(c, err):
	case err != nil:
		m.internalError(c, err)
	default:
		writeUser(c, http.StatusCreated, u)
	}
}

func (m *Manager[F]) handleMe(c *gin.Context) {
	u, ok := m.requireUser(c, m.baseRequirements())
	if !ok {
		return
	}
	writeUser(c, http.StatusOK, u)
}

func (m *Manager[F]) handlePatchMe(c *gin.Context) {
	m.patch(c, true)
}

func (m *Manager[F]) handlePatchUser(c *gin.Context) {
	m.patch(c, false)
}

// patch serves PATCH /me (safe) and PATCH /:id (unsafe), in FastAPI's
// order: malformed JSON (422), authentication (401/403), lookup (404), body
// validation (422), then the update itself (400).
func (m *Manager[F]) patch(c *gin.Context, self bool) {
	body, rerr := readJSON(c, m.cfg.maxBodyBytes)
	if rerr != nil {
		rerr.write(c)
		return
	}
	var u *User[F]
	if self {
		var ok bool
		if u, ok = m.requireUser(c, m.baseRequirements()); !ok {
			return
		}
	} else {
		var ok bool
		if u, ok = m.targetUser(c); !ok {
			return
		}
	}
	obj, rerr := parseObject(body)
	if rerr != nil {
		rerr.write(c)
		return
	}
	var upd UserUpdate[F]
	var errs []FieldError
	collect := func(fe *FieldError) {
		if fe != nil {
			errs = append(errs, *fe)
		}
	}
	var fe *FieldError
	upd.Email, fe = obj.email("email", false)
	collect(fe)
	upd.Password, fe = obj.str("password", false, true)
	collect(fe)
	upd.Active, fe = obj.boolean("is_active", false)
	collect(fe)
	upd.Superuser, fe = obj.boolean("is_superuser", false)
	collect(fe)
	upd.Verified, fe = obj.boolean("is_verified", false)
	collect(fe)
	fields := u.Fields
	names, ferrs := decodeFields(obj, &fields, false)
	errs = append(errs, ferrs...)
	if len(errs) > 0 {
		unprocessable(errs...).write(c)
		return
	}
	if len(names) > 0 {
		upd.Fields, upd.FieldNames = &fields, names
	}
	var err error
	if self {
		u, err = m.UpdateSafe(c.Request.Context(), u, upd)
	} else {
		u, err = m.Update(c.Request.Context(), u, upd)
	}
	switch {
	case errors.Is(err, ErrUserExists):
		badRequest(c, CodeUpdateUserEmailAlreadyExists)
	case errors.Is(err, ErrUserNotFound):
		notFound(c)
	case errors.Is(err, ErrUserInactive), errors.Is(err, ErrSessionEnded):
		// Deactivated, or the session ended, while the request was in flight.
		m.unauthorized(c)
	case passwordRejected(c, err, CodeUpdateUserInvalidPassword), emailRejected(c, err):
	case err != nil:
		m.internalError(c, err)
	default:
		writeUser(c, http.StatusOK, u)
	}
}

// targetUser checks that the caller is an active superuser (401/403 before
// any lookup, so ids cannot be probed) and loads the user of the :id
// parameter (404).
func (m *Manager[F]) targetUser(c *gin.Context) (*User[F], bool) {
	if _, ok := m.requireUser(c, m.baseRequirements(Superuser)); !ok {
		return nil, false
	}
	u, err := m.store.Get(c.Request.Context(), c.Param("id"))
	if errors.Is(err, ErrUserNotFound) {
		notFound(c)
		return nil, false
	}
	if err != nil {
		m.internalError(c, err)
		return nil, false
	}
	return u, true
}

func (m *Manager[F]) handleGetUser(c *gin.Context) {
	if u, ok := m.targetUser(c); ok {
		writeUser(c, http.StatusOK, u)
	}
}

func (m *Manager[F]) handleDeleteUser(c *gin.Context) {
	u, ok := m.targetUser(c)
	if !ok {
		return
	}
	err := m.Delete(c.Request.Context(), u)
	switch {
	case errors.Is(err, ErrUserNotFound):
		notFound(c)
	case err != nil:
		m.internalError(c, err)
	default:
		c.Status(http.StatusNoContent)
		c.Writer.WriteHeaderNow()
	}
}
