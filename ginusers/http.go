package ginusers

import (
	"errors"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// Route is one endpoint, as data: its method and path, what it takes and
// answers, who may call it, and its handler. [Routes] and the per-feature
// factories build these values, mount them with [Mount] and return them,
// so that documentation (an OpenAPI document) is generated from exactly
// what is mounted. An application adds its own endpoints the same way:
// declare Routes, mount them with [Mount], and they authenticate and answer
// errors exactly as the built-in ones do.
type Route struct {
	// Name is the route's name, fastapi-users' where it has one
	// ("auth:jwt.login", "users:patch_user"); unique within an app.
	Name string
	// Method is the HTTP method.
	Method string
	// Path is the path relative to the group given to [Mount], with Gin's
	// parameters ("/:id"); in the routes Mount returns, the full path.
	Path string
	// Summary is a one-line description.
	Summary string
	// Tag groups routes in documentation ("auth", "users").
	Tag string
	// Auth says who may call the route; nil for anyone.
	Auth *Auth
	// Backend is the backend a login or logout route belongs to (its
	// transport shapes the answer); nil for other routes.
	Backend *Backend
	// Request describes the body the route reads; nil for none.
	Request *Body
	// Success is the status of a successful answer, and Response its body
	// (nil for none, as with 204).
	Success  int
	Response *Body
	// Redirect, when not zero, is a redirection status (303 See Other)
	// the route may answer instead of Success, with a Location header.
	Redirect int
	// Query lists the query parameters the route reads, for
	// documentation.
	Query []Param
	// Errors maps domain errors to the route's own answers (a 400 with an
	// [ErrorCode]); the answers every route gives (401, 403, 404, 422, 413,
	// 503, 500) need no entry.
	Errors []ErrorCase
	// Handle serves the request once the body is read (see [Body]) and the
	// caller is authenticated (see [Auth]). It writes the success answer;
	// an error it returns is answered by the Manager's error writer.
	Handle func(c *gin.Context) error
}

// Param is a query parameter of a [Route], for documentation.
type Param struct {
	Name, Description string
	// Required: the route answers 400 or 422 without it.
	Required bool
	// Repeated: the parameter may be given several times (?a=1&a=2).
	Repeated bool
}

// Auth is the authentication a [Route] needs: a session (401 without
// one), an active user unless [AllowInactive], and the requirements (403).
type Auth struct {
	// Requirements are checked by [Session.Check].
	Requirements []Requirement
	// Backends, when not nil, are the only backends that authenticate the
	// route; a token of another is ignored. A list with none of the
	// Manager's backends (an empty one included: enabled backends computed
	// at run time, none enabled) authenticates nothing, and the route
	// answers 401. Nil means every backend.
	Backends []*Backend
}

// Body describes a request or response body.
type Body struct {
	// ContentType is "application/json" unless set
	// ("application/x-www-form-urlencoded" for the login form).
	ContentType string
	// Shape says what the body is.
	Shape Shape
	// Type is the Go type of the body for [ShapeGo], and the application's
	// field type F for the user shapes.
	Type reflect.Type
}

// Shape is the kind of a [Body].
type Shape int

const (
	// ShapeGo is a JSON body of the Go type [Body.Type], by its json tags.
	ShapeGo Shape = iota
	// ShapeNull is the JSON body null.
	ShapeNull
	// ShapeUser is a user as the API shows it ([User.MarshalJSON]).
	ShapeUser
	// ShapeUserCreate is the body of a registration: email, password and
	// the application's fields.
	ShapeUserCreate
	// ShapeUserUpdate is the body of a user update: any of email,
	// password, the flags (for superusers) and the application's fields.
	ShapeUserUpdate
	// ShapeUserUpdateSafe is [ShapeUserUpdate] without the flags, as a
	// user may change themself.
	ShapeUserUpdateSafe
	// ShapeLoginForm is the OAuth2 password form: username, password,
	// grant_type, scope, client_id, client_secret.
	ShapeLoginForm
)

// json reports whether the body is read as JSON: no content type,
// application/json or application/*+json.
func (b *Body) json() bool {
	return b != nil && (b.ContentType == "" || isJSONContentType(b.ContentType))
}

// form reports whether the body is read as a form (urlencoded or
// multipart: either is read, as FastAPI reads a form).
func (b *Body) form() bool {
	return b != nil && (b.ContentType == contentForm || b.ContentType == "multipart/form-data")
}

// ErrorCase maps a domain error (matched with [errors.Is]) to a route's
// answer: the status and fastapi-users' error code, sent as {"detail":
// code}, or {"detail": {"code": code, "reason": reason}} for a
// [*PasswordError].
type ErrorCase struct {
	Err    error
	Status int
	Code   ErrorCode
}

// HTTPError is the answer to a failed request, as the Manager's
// [ErrorWriter] receives it: the status, fastapi-users' "detail" (a status
// phrase such as "Unauthorized", an [ErrorCode], {"code", "reason"} for a
// refused password, or FastAPI's list of validation errors), the headers
// to send (WWW-Authenticate, Retry-After), and the cause, for logs only.
type HTTPError struct {
	Status int
	Detail any
	Header http.Header
	Err    error
}

// ErrorWriter writes the answer to a failed request; see [WithErrorWriter].
type ErrorWriter func(c *gin.Context, e *HTTPError)

// writeJSONError is the default [ErrorWriter]: e's headers, then
// {"detail": e.Detail} with e's status.
func writeJSONError(c *gin.Context, e *HTTPError) {
	for k, vs := range e.Header {
		for _, v := range vs {
			c.Writer.Header().Add(k, v)
		}
	}
	c.AbortWithStatusJSON(e.Status, detail(e.Detail))
}

// httpError maps err to its answer: the route's own cases first, then the
// answers every route gives. It is the one place where a domain error
// becomes an HTTP status.
func (m *Manager[F]) httpError(cases []ErrorCase, err error) *HTTPError {
	for _, ec := range cases {
		if errors.Is(err, ec.Err) {
			var pe *PasswordError
			if errors.As(err, &pe) {
				return &HTTPError{Status: ec.Status, Detail: codeBody{Code: ec.Code, Reason: pe.Reason}, Err: err}
			}
			return &HTTPError{Status: ec.Status, Detail: ec.Code, Err: err}
		}
	}
	var re *requestError
	var ee *EmailError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &HTTPError{Status: http.StatusRequestEntityTooLarge, Detail: "Request Entity Too Large", Err: err}
	case errors.As(err, &re):
		return &HTTPError{Status: re.status, Detail: re.detail, Err: err}
	case errors.As(err, &ee):
		return &HTTPError{Status: http.StatusUnprocessableEntity, Err: err, Detail: []fieldError{emailFieldError("email", ee.Input, ee.Reason)}}
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrUserInactive), errors.Is(err, ErrSessionEnded):
		e := &HTTPError{Status: http.StatusUnauthorized, Detail: "Unauthorized", Err: err}
		if m.scheme != "" {
			e.Header = http.Header{"Www-Authenticate": {m.scheme}}
		}
		return e
	case errors.Is(err, ErrCrossOrigin), errors.Is(err, ErrNotSuperuser), errors.Is(err, ErrUserNotVerified):
		return &HTTPError{Status: http.StatusForbidden, Detail: "Forbidden", Err: err}
	case errors.Is(err, ErrUserNotFound):
		return &HTTPError{Status: http.StatusNotFound, Detail: "Not Found", Err: err}
	case errors.Is(err, ErrHashingBusy):
		return &HTTPError{Status: http.StatusServiceUnavailable, Detail: "Service Unavailable", Err: err}
	case errors.Is(err, ErrUnavailable):
		return &HTTPError{Status: http.StatusServiceUnavailable, Detail: "Service Unavailable", Err: err,
			Header: http.Header{"Retry-After": {strconv.Itoa(RetryAfterUnavailable)}}}
	}
	return &HTTPError{Status: http.StatusInternalServerError, Detail: "Internal Server Error", Err: err}
}

// fail answers a failed request: it maps err (with the route's cases),
// logs what is not the client's fault, and hands the answer to the error
// writer. Every error answer of the package goes through here.
func (m *Manager[F]) fail(c *gin.Context, cases []ErrorCase, err error) {
	e := m.httpError(cases, err)
	ctx := c.Request.Context()
	switch {
	case e.Status == http.StatusServiceUnavailable && errors.Is(err, ErrUnavailable):
		m.logger.WarnContext(ctx, "ginusers: database unavailable", "method", c.Request.Method, "path", c.FullPath(), "error", err)
	case e.Status >= 500 && !errors.Is(err, ErrHashingBusy):
		m.logger.ErrorContext(ctx, "ginusers: request failed", "method", c.Request.Method, "path", c.FullPath(), "error", err)
	}
	m.cfg.errorWriter(c, e)
	if !c.Writer.Written() {
		// A writer that wrote nothing (one that only logs) must not leave
		// the failure answered 200.
		writeJSONError(c, e)
	}
	c.Abort()
}

// Mount mounts routes on r with m: for each, Gin's handler reads the body
// ([Body]: a malformed JSON body is answered 422 before anything else, as
// FastAPI does), authenticates the caller ([Auth]: a session that
// middleware on the group already established, such as [RequireUser], is
// reused, not authenticated again), calls [Route.Handle], and answers its
// error through m's error writer. It returns the routes with their full
// paths, for documentation.
func Mount[F any](r gin.IRouter, m *Manager[F], routes ...Route) []Route {
	base := "/"
	if bp, ok := r.(interface{ BasePath() string }); ok {
		base = bp.BasePath()
	}
	out := make([]Route, 0, len(routes))
	for _, rt := range routes {
		for _, ec := range rt.Errors {
			if ec.Status < 400 || ec.Status > 599 {
				panic(fmt.Sprintf("ginusers: route %s %s: error case %q answers status %d, not a 4xx or 5xx", rt.Method, rt.Path, ec.Code, ec.Status))
			}
		}
		if rt.Auth != nil {
			// WithRequireVerified holds for every authenticated route.
			auth := Auth{Requirements: m.baseRequirements(rt.Auth.Requirements...)}
			if rt.Auth.Backends != nil {
				auth.Backends = m.onlyBackends(rt.Auth.Backends)
			}
			rt.Auth = &auth
		}
		// The handler keeps its own copy of the route: the table returned
		// is for reading (documentation), and editing it changes nothing
		// that is enforced.
		r.Handle(rt.Method, rt.Path, m.handler(rt.clone()))
		full := path.Join(base, rt.Path)
		if strings.HasSuffix(rt.Path, "/") && !strings.HasSuffix(full, "/") {
			full += "/"
		}
		rt.Path = full
		out = append(out, rt.clone())
	}
	return out
}

// clone returns a copy of r that shares nothing mutable with it.
func (r Route) clone() Route {
	if r.Auth != nil {
		a := Auth{Requirements: slices.Clone(r.Auth.Requirements), Backends: slices.Clone(r.Auth.Backends)}
		r.Auth = &a
	}
	if r.Request != nil {
		b := *r.Request
		r.Request = &b
	}
	if r.Response != nil {
		b := *r.Response
		r.Response = &b
	}
	r.Errors = slices.Clone(r.Errors)
	r.Query = slices.Clone(r.Query)
	return r
}

// bodyKey keys, in the Gin context, the body read for a route.
type bodyKey struct{}

func (m *Manager[F]) handler(rt Route) gin.HandlerFunc {
	readsJSON := rt.Request.json()
	readsForm := rt.Request.form()
	readsOther := rt.Request != nil && !readsJSON && !readsForm
	return func(c *gin.Context) {
		switch {
		case readsOther:
			// The handler reads the body itself, within the limit: reading
			// past it fails with *http.MaxBytesError, answered 413.
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, m.cfg.maxBodyBytes)
		case readsJSON:
			body, err := readJSON(c, m.cfg.maxBodyBytes)
			if err != nil {
				m.fail(c, rt.Errors, err)
				return
			}
			c.Set(bodyKey{}, body)
		case readsForm:
			form, err := readForm(c, m.cfg.maxBodyBytes)
			if err != nil {
				m.fail(c, rt.Errors, err)
				return
			}
			c.Set(bodyKey{}, form)
		}
		if rt.Auth != nil {
			if _, err := m.requireSession(c, rt.Auth); err != nil {
				m.fail(c, rt.Errors, err)
				return
			}
		}
		if err := rt.Handle(c); err != nil {
			m.fail(c, rt.Errors, err)
		}
	}
}

// routeBody returns the JSON body the route's handler read.
func routeBody(c *gin.Context) jsonBody {
	v, _ := c.Get(bodyKey{})
	b, _ := v.(jsonBody)
	return b
}

// RouteForm returns the form fields of a request to a [Route] whose
// [Body] is a form ("application/x-www-form-urlencoded", or multipart): an
// empty map when the body is another type, as FastAPI reads it.
func RouteForm(c *gin.Context) map[string][]string {
	v, _ := c.Get(bodyKey{})
	f, _ := v.(map[string][]string)
	return f
}

// WriteResponse writes a prepared answer (from a [Transport] or
// [Manager.Login]): its headers, its status and its JSON body, if any.
func WriteResponse(c *gin.Context, r *Response) {
	for k, vs := range r.Header {
		for _, v := range vs {
			c.Writer.Header().Add(k, v)
		}
	}
	if r.Body == nil {
		c.Status(r.Status)
		c.Writer.WriteHeaderNow()
		return
	}
	c.JSON(r.Status, r.Body)
}

// WriteUser answers with the user as the API shows it ([User.MarshalJSON]:
// never the password hash), written once.
func WriteUser[F any](c *gin.Context, status int, u *User[F]) error {
	b, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	c.Data(status, "application/json; charset=utf-8", b)
	return nil
}

// codeBody is the detail of a 400 answer for a refused password.
type codeBody struct {
	Code   ErrorCode `json:"code"`
	Reason string    `json:"reason"`
}

func detail(v any) gin.H { return gin.H{"detail": v} }

// ConfigureEngine makes e answer like FastAPI for routes it does not have:
// 405 {"detail": "Method Not Allowed"} for a known path with another method
// (with an Allow header), and 404 {"detail": "Not Found"} for an unknown
// path. It replaces e's NoRoute and NoMethod handlers, so call it once,
// yourself, when you want that behaviour ([Routes] does not).
func ConfigureEngine(e *gin.Engine) {
	e.HandleMethodNotAllowed = true
	e.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, detail("Method Not Allowed"))
	})
	e.NoRoute(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusNotFound, detail("Not Found"))
	})
}
