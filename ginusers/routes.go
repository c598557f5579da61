package ginusers

import (
	"context"
	"net/http"
	"reflect"

	"github.com/gin-gonic/gin"
)

// Routes mounts the routes of fastapi-users' full example on r and returns
// them (see [Route]):
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
// with one login/logout pair per backend of m. Each group is also
// available on its own: [AuthRoutes], [LogoutAllRoutes], [RegisterRoutes],
// [ResetPasswordRoutes], [VerifyRoutes], [UsersRoutes]. Routes does not
// touch the engine's handlers for unknown routes and methods; call
// [ConfigureEngine] for FastAPI's 404 and 405 answers.
func Routes[F any](r gin.IRouter, m *Manager[F]) []Route {
	var out []Route
	for _, b := range m.Backends() {
		out = append(out, AuthRoutes(r.Group("/auth/"+b.Name()), m, b)...)
	}
	auth := r.Group("/auth")
	out = append(out, LogoutAllRoutes(auth, m)...)
	out = append(out, RegisterRoutes(auth, m)...)
	out = append(out, ResetPasswordRoutes(auth, m)...)
	out = append(out, VerifyRoutes(auth, m)...)
	out = append(out, UsersRoutes(r.Group("/users"), m)...)
	return out
}

// Content types of request bodies.
const (
	contentJSON = "application/json"
	contentForm = "application/x-www-form-urlencoded"
)

// Request bodies of the routes, described by Go types for documentation.
type (
	emailBody struct {
		Email string `json:"email" binding:"required,email"`
	}
	tokenBody struct {
		Token string `json:"token" binding:"required"`
	}
	resetBody struct {
		Token    string `json:"token" binding:"required"`
		Password string `json:"password" binding:"required"`
	}
)

// shapeOf returns the body described by a transport's answer.
func shapeOf(r *Response) *Body {
	if r == nil || r.Body == nil {
		return nil
	}
	return &Body{Shape: ShapeGo, Type: reflect.TypeOf(r.Body)}
}

// AuthRoutes mounts the login and logout routes of backend b (one of m's)
// on r, and returns them:
//
//	POST /login: form fields username (the e-mail) and password; optional
//	OAuth2 fields grant_type (must be "password"), scope, client_id and
//	client_secret are ignored. Answers the transport's login response (200
//	bearer JSON, 204 with a cookie), 400 LOGIN_BAD_CREDENTIALS for an unknown
//	e-mail, a wrong password or an inactive user, 400 LOGIN_USER_NOT_VERIFIED
//	with [WithRequireVerified], 403 for a cross-site cookie login, 422 for a
//	missing field or a JSON body.
//
//	POST /logout: requires an active user (401) and, with
//	[WithRequireVerified], a verified one (403). Ends the session of the
//	token that authenticated the request, whichever backend it came from
//	([Manager.Logout]: a stored token is deleted, a JWT revoked), then
//	answers this backend's logout response (204).
func AuthRoutes[F any](r gin.IRouter, m *Manager[F], b *Backend) []Route {
	login := b.Transport().LoginResponse("token")
	logout := b.Transport().LogoutResponse()
	return Mount(r, m,
		Route{
			Name: "auth:" + b.Name() + ".login", Method: http.MethodPost, Path: "/login", Tag: "auth", Backend: b,
			Summary: "Log in with an e-mail address and a password (" + b.Name() + " backend)",
			Request: &Body{ContentType: contentForm, Shape: ShapeLoginForm},
			Success: login.Status, Response: shapeOf(login),
			Errors: []ErrorCase{
				{Err: ErrInvalidCredentials, Status: http.StatusBadRequest, Code: CodeLoginBadCredentials},
				{Err: ErrUserNotVerified, Status: http.StatusBadRequest, Code: CodeLoginUserNotVerified},
			},
			Handle: func(c *gin.Context) error { return m.handleLogin(c, b) },
		},
		Route{
			Name: "auth:" + b.Name() + ".logout", Method: http.MethodPost, Path: "/logout", Tag: "auth", Backend: b,
			Summary: "Log out the current session",
			Auth:    &Auth{},
			Success: logout.Status, Response: shapeOf(logout),
			Handle: func(c *gin.Context) error {
				s, _ := m.CurrentSession(c)
				if err := m.Logout(c.Request.Context(), s); err != nil {
					return err
				}
				WriteResponse(c, b.Transport().LogoutResponse())
				return nil
			},
		},
	)
}

// handleLogin reads the OAuth2 password form and logs the user in.
func (m *Manager[F]) handleLogin(c *gin.Context, b *Backend) error {
	form := RouteForm(c)
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	username, password := get("username"), get("password")
	var errs []fieldError
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
		return unprocessable(errs...)
	}
	ctx := withClientIP(c.Request.Context(), c.ClientIP())
	_, resp, err := m.Login(ctx, b, c.Request, username, password)
	if err != nil {
		return err
	}
	WriteResponse(c, resp)
	return nil
}

// LogoutAllRoutes mounts the "log out everywhere" route on r, and returns it:
//
//	POST /logout-all: requires an active user (401) and, with
//	[WithRequireVerified], a verified one (403). Calls [Manager.LogoutAll]:
//	every token issued so far is refused, JWTs included, and every stored
//	token of the user is deleted. Answers the logout response of the
//	backend that authenticated the request (204, clearing the cookie for a
//	cookie backend).
func LogoutAllRoutes[F any](r gin.IRouter, m *Manager[F]) []Route {
	return Mount(r, m, Route{
		Name: "auth:logout_all", Method: http.MethodPost, Path: "/logout-all", Tag: "auth",
		Summary: "End every session of the current user",
		Auth:    &Auth{},
		Success: http.StatusNoContent,
		Handle: func(c *gin.Context) error {
			s, _ := m.CurrentSession(c)
			if err := m.LogoutAll(c.Request.Context(), s.User); err != nil {
				return err
			}
			WriteResponse(c, s.Backend.Transport().LogoutResponse())
			return nil
		},
	})
}

// RegisterRoutes mounts the registration route on r, and returns it:
//
//	POST /register: JSON {"email", "password", ...application fields}.
//	Answers 201 with the user; 400 REGISTER_USER_ALREADY_EXISTS; 400
//	{"code": "REGISTER_INVALID_PASSWORD", "reason": ...}; 422 for a missing
//	or invalid field; 413 for a body over [WithMaxBodyBytes]. is_active,
//	is_superuser, is_verified and id are ignored.
func RegisterRoutes[F any](r gin.IRouter, m *Manager[F]) []Route {
	return Mount(r, m, Route{
		Name: "register:register", Method: http.MethodPost, Path: "/register", Tag: "auth",
		Summary: "Create an account",
		Request: &Body{Shape: ShapeUserCreate, Type: reflect.TypeFor[F]()},
		Success: http.StatusCreated, Response: &Body{Shape: ShapeUser, Type: reflect.TypeFor[F]()},
		Errors: []ErrorCase{
			{Err: ErrUserExists, Status: http.StatusBadRequest, Code: CodeRegisterUserAlreadyExists},
			{Err: ErrInvalidPassword, Status: http.StatusBadRequest, Code: CodeRegisterInvalidPassword},
		},
		Handle: m.handleRegister,
	})
}

func (m *Manager[F]) handleRegister(c *gin.Context) error {
	obj, err := parseObject(routeBody(c))
	if err != nil {
		return err
	}
	var errs []fieldError
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
		return unprocessable(errs...)
	}
	u, err := m.Register(c.Request.Context(), UserCreate[F]{Email: *email, Password: *password, Fields: fields})
	if err != nil {
		return err
	}
	return WriteUser(c, http.StatusCreated, u)
}

// ResetPasswordRoutes mounts the password-reset routes on r, and returns
// them:
//
//	POST /forgot-password: JSON {"email"}. Always 202 with body null for a
//	valid address (422 otherwise), whether or not a user has it
//	([Manager.RequestPasswordReset]: the token is delivered off the request
//	path).
//
//	POST /reset-password: JSON {"token", "password"}. 200 with body null;
//	400 RESET_PASSWORD_BAD_TOKEN; 400 {"code":
//	"RESET_PASSWORD_INVALID_PASSWORD", "reason": ...}; 422.
func ResetPasswordRoutes[F any](r gin.IRouter, m *Manager[F]) []Route {
	return Mount(r, m,
		tokenRequestRoute("reset:forgot_password", "/forgot-password", "Ask for a password-reset token, sent by e-mail", m.RequestPasswordReset),
		Route{
			Name: "reset:reset_password", Method: http.MethodPost, Path: "/reset-password", Tag: "auth",
			Summary: "Set a new password with a reset token",
			Request: &Body{Shape: ShapeGo, Type: reflect.TypeFor[resetBody]()},
			Success: http.StatusOK, Response: &Body{Shape: ShapeNull},
			Errors: []ErrorCase{
				{Err: ErrInvalidToken, Status: http.StatusBadRequest, Code: CodeResetPasswordBadToken},
				{Err: ErrInvalidPassword, Status: http.StatusBadRequest, Code: CodeResetPasswordInvalidPassword},
			},
			Handle: func(c *gin.Context) error {
				in, err := readFields(c, "token", "password")
				if err != nil {
					return err
				}
				if _, err := m.ResetPassword(c.Request.Context(), in["token"], in["password"]); err != nil {
					return err
				}
				c.JSON(http.StatusOK, nil)
				return nil
			},
		},
	)
}

// VerifyRoutes mounts the e-mail verification routes on r, and returns them:
//
//	POST /request-verify-token: JSON {"email"}. Always 202 with body null
//	for a valid address (422 otherwise) ([Manager.RequestVerification]:
//	the token is delivered off the request path).
//
//	POST /verify: JSON {"token"}. 200 with the user, now verified; 400
//	VERIFY_USER_BAD_TOKEN; 400 VERIFY_USER_ALREADY_VERIFIED; 422.
func VerifyRoutes[F any](r gin.IRouter, m *Manager[F]) []Route {
	return Mount(r, m,
		tokenRequestRoute("verify:request-token", "/request-verify-token", "Ask for an e-mail verification token, sent by e-mail", m.RequestVerification),
		Route{
			Name: "verify:verify", Method: http.MethodPost, Path: "/verify", Tag: "auth",
			Summary: "Verify the e-mail address with a verification token",
			Request: &Body{Shape: ShapeGo, Type: reflect.TypeFor[tokenBody]()},
			Success: http.StatusOK, Response: &Body{Shape: ShapeUser, Type: reflect.TypeFor[F]()},
			Errors: []ErrorCase{
				{Err: ErrInvalidToken, Status: http.StatusBadRequest, Code: CodeVerifyUserBadToken},
				{Err: ErrAlreadyVerified, Status: http.StatusBadRequest, Code: CodeVerifyUserAlreadyVerified},
			},
			Handle: func(c *gin.Context) error {
				in, err := readFields(c, "token")
				if err != nil {
					return err
				}
				u, err := m.Verify(c.Request.Context(), in["token"])
				if err != nil {
					return err
				}
				return WriteUser(c, http.StatusOK, u)
			},
		},
	)
}

// tokenRequestRoute is forgot-password or request-verify-token: JSON
// {"email"}, answered 202 null whether or not the address belongs to
// anyone, request having the token delivered off the request path.
func tokenRequestRoute(name, path, summary string, request func(ctx context.Context, email string) error) Route {
	return Route{
		Name: name, Method: http.MethodPost, Path: path, Tag: "auth", Summary: summary,
		Request: &Body{Shape: ShapeGo, Type: reflect.TypeFor[emailBody]()},
		Success: http.StatusAccepted, Response: &Body{Shape: ShapeNull},
		Handle: func(c *gin.Context) error {
			in, err := readFields(c, "email")
			if err != nil {
				return err
			}
			if err := request(c.Request.Context(), in["email"]); err != nil {
				return err
			}
			c.JSON(http.StatusAccepted, nil)
			return nil
		},
	}
}

// readFields reads the named required string fields of the route's JSON
// object body; "email" is checked and normalised as an address.
func readFields(c *gin.Context, names ...string) (map[string]string, error) {
	obj, err := parseObject(routeBody(c))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var errs []fieldError
	for _, n := range names {
		var s *string
		var fe *fieldError
		if n == "email" {
			s, fe = obj.email(n, true)
		} else {
			s, fe = obj.str(n, true, false)
		}
		if fe != nil {
			errs = append(errs, *fe)
			continue
		}
		out[n] = *s
	}
	if len(errs) > 0 {
		return nil, unprocessable(errs...)
	}
	return out, nil
}

// UsersRoutes mounts the users routes on r, and returns them. All require an
// active user (401) and, with [WithRequireVerified], a verified one (403):
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
//
// Under middleware that authenticated the request already ([RequireUser],
// [RequireUserFrom] on the group), the routes use its session.
func UsersRoutes[F any](r gin.IRouter, m *Manager[F]) []Route {
	user := &Body{Shape: ShapeUser, Type: reflect.TypeFor[F]()}
	me := &Auth{}
	super := &Auth{Requirements: []Requirement{Superuser}}
	updateErrors := []ErrorCase{
		{Err: ErrUserExists, Status: http.StatusBadRequest, Code: CodeUpdateUserEmailAlreadyExists},
		{Err: ErrInvalidPassword, Status: http.StatusBadRequest, Code: CodeUpdateUserInvalidPassword},
	}
	return Mount(r, m,
		Route{
			Name: "users:current_user", Method: http.MethodGet, Path: "/me", Tag: "users",
			Summary: "The current user", Auth: me, Success: http.StatusOK, Response: user,
			Handle: func(c *gin.Context) error {
				u, _ := m.CurrentUser(c)
				return WriteUser(c, http.StatusOK, u)
			},
		},
		Route{
			Name: "users:patch_current_user", Method: http.MethodPatch, Path: "/me", Tag: "users",
			Summary: "Update the current user", Auth: me,
			Request: &Body{Shape: ShapeUserUpdateSafe, Type: reflect.TypeFor[F]()},
			Success: http.StatusOK, Response: user, Errors: updateErrors,
			Handle: func(c *gin.Context) error {
				u, _ := m.CurrentUser(c)
				return m.handlePatch(c, u, true)
			},
		},
		Route{
			Name: "users:user", Method: http.MethodGet, Path: "/:id", Tag: "users",
			Summary: "A user (superusers only)", Auth: super, Success: http.StatusOK, Response: user,
			Handle: m.withTarget(func(c *gin.Context, u *User[F]) error { return WriteUser(c, http.StatusOK, u) }),
		},
		Route{
			Name: "users:patch_user", Method: http.MethodPatch, Path: "/:id", Tag: "users",
			Summary: "Update a user (superusers only)", Auth: super,
			Request: &Body{Shape: ShapeUserUpdate, Type: reflect.TypeFor[F]()},
			Success: http.StatusOK, Response: user, Errors: updateErrors,
			Handle: m.withTarget(func(c *gin.Context, u *User[F]) error { return m.handlePatch(c, u, false) }),
		},
		Route{
			Name: "users:delete_user", Method: http.MethodDelete, Path: "/:id", Tag: "users",
			Summary: "Delete a user (superusers only)", Auth: super, Success: http.StatusNoContent,
			Handle: m.withTarget(func(c *gin.Context, u *User[F]) error {
				if err := m.Delete(c.Request.Context(), u); err != nil {
					return err
				}
				c.Status(http.StatusNoContent)
				c.Writer.WriteHeaderNow()
				return nil
			}),
		},
	)
}

// withTarget loads the user of the :id parameter (404 for an unknown or
// malformed id) and hands it to fn.
func (m *Manager[F]) withTarget(fn func(c *gin.Context, u *User[F]) error) func(c *gin.Context) error {
	return func(c *gin.Context) error {
		u, err := m.Get(c.Request.Context(), c.Param("id"))
		if err != nil {
			return err
		}
		return fn(c, u)
	}
}

// handlePatch applies the route's JSON body to u: as the user may change
// themself (PATCH /me) or as a superuser may (PATCH /:id).
func (m *Manager[F]) handlePatch(c *gin.Context, u *User[F], self bool) error {
	obj, err := parseObject(routeBody(c))
	if err != nil {
		return err
	}
	var upd UserUpdate[F]
	var errs []fieldError
	collect := func(fe *fieldError) {
		if fe != nil {
			errs = append(errs, *fe)
		}
	}
	var fe *fieldError
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
		return unprocessable(errs...)
	}
	if len(names) > 0 {
		upd.Fields, upd.FieldNames = &fields, names
	}
	if self {
		u, err = m.UpdateSafe(c.Request.Context(), u, upd)
	} else {
		u, err = m.Update(c.Request.Context(), u, upd)
	}
	if err != nil {
		return err
	}
	return WriteUser(c, http.StatusOK, u)
}
