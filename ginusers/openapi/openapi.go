// Package openapi builds the OpenAPI 3.1 document of a ginusers API from
// the route table the routes were mounted from, so that the document
// cannot drift from what is served: every operation, its request and
// response bodies, every status it can answer with its body (fastapi-users'
// ErrorModel and error codes, FastAPI's 422 shape, 401 with
// WWW-Authenticate, 403, 404, 413, 500, 503, 204 with no body), and the
// security schemes of the backends mounted (OAuth2's password flow for a
// bearer backend, so that Swagger UI's Authorize button logs in; an apiKey
// cookie for a cookie backend).
//
//	routes := ginusers.Routes(r, m)
//	routes = append(routes, ginusers.Mount(r, m, myRoutes...)...) // your own operations
//	doc, err := openapi.Document(m, openapi.Info{Title: "My API", Version: "1.0"}, routes...)
//	if err != nil { ... } // a route that does not document its answers
//	r.GET("/openapi.json", openapi.Handler(doc))
//
// The user schemas are derived from the application's field type F: its
// fields with their JSON names, types and nullability, and the constraints
// of their binding tags (max=100 → maxLength 100, oneof, email, ...).
// Package [github.com/ginusers/kit/ginusers/openapi/swaggerui] serves the
// document as interactive documentation (Swagger UI, embedded).
//
// The package is separate from ginusers, so that applications without an
// OpenAPI document do not build it.
package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// Info describes the API.
type Info struct {
	// Title and Version are required by OpenAPI; they default to "API"
	// and "0.0.0".
	Title, Version string
	// Description is shown under the title (Markdown).
	Description string
}

// Doc is an OpenAPI 3.1 document, as a JSON object.
type Doc = map[string]any

// reserved are the names ginusers writes itself; an application field with
// one of them never reaches the wire.
var reserved = []string{"id", "email", "password", "hashed_password", "is_active", "is_superuser", "is_verified", "oauth_accounts"}

// Document returns the OpenAPI 3.1 document of routes, mounted for m (the
// table that [ginusers.Routes], the route groups and [ginusers.Mount]
// return, with full paths). It returns an error for a route that does not
// document its answers: no name, method, path, summary or tag, no success
// status, a success status other than 204 without a body, or a name used
// twice (names become operation ids, with every character other than an
// ASCII letter or digit replaced by "_": "users:current_user" is
// users_current_user).
func Document[F any](m *ginusers.Manager[F], info Info, routes ...ginusers.Route) (Doc, error) {
	if info.Title == "" {
		info.Title = "API"
	}
	if info.Version == "" {
		info.Version = "0.0.0"
	}
	b := &builder{schemes: Schema{}, components: Schema{}, backends: m.Backends()}
	for _, be := range b.backends {
		b.addScheme(be, routes)
	}
	paths := Schema{}
	var tags []string
	seen := map[string]bool{}
	for _, r := range routes {
		if err := check(r, seen); err != nil {
			return nil, err
		}
		path, params := openAPIPath(r.Path)
		item, _ := paths[path].(Schema)
		if item == nil {
			item = Schema{}
			paths[path] = item
		}
		if _, dup := item[strings.ToLower(r.Method)]; dup {
			return nil, fmt.Errorf("openapi: %s %s is described twice", r.Method, r.Path)
		}
		op := b.operation(r)
		var ps []any
		for _, p := range params {
			ps = append(ps, Schema{"name": p, "in": "path", "required": true, "schema": Schema{"type": "string"}})
		}
		for _, q := range r.Query {
			p := Schema{"name": q.Name, "in": "query", "required": q.Required, "schema": Schema{"type": "string"}}
			if q.Repeated {
				p["schema"] = Schema{"type": "array", "items": Schema{"type": "string"}}
				p["style"], p["explode"] = "form", true
			}
			if q.Description != "" {
				p["description"] = q.Description
			}
			ps = append(ps, p)
		}
		if len(ps) > 0 {
			op["parameters"] = ps
		}
		item[strings.ToLower(r.Method)] = op
		if !slices.Contains(tags, r.Tag) {
			tags = append(tags, r.Tag)
		}
	}
	var tagList []any
	for _, t := range tags {
		tagList = append(tagList, Schema{"name": t})
	}
	b.components["ErrorModel"] = Schema{
		"type": "object", "required": []any{"detail"},
		"properties": Schema{"detail": Schema{"anyOf": []any{
			Schema{"type": "string"},
			Schema{"type": "object", "required": []any{"code", "reason"}, "properties": Schema{
				"code": Schema{"type": "string"}, "reason": Schema{"type": "string"},
			}},
		}}},
	}
	b.components["ValidationError"] = Schema{
		"type": "object", "required": []any{"type", "loc", "msg"},
		"properties": Schema{
			"type":  Schema{"type": "string"},
			"loc":   Schema{"type": "array", "items": Schema{"anyOf": []any{Schema{"type": "string"}, Schema{"type": "integer"}}}},
			"msg":   Schema{"type": "string"},
			"input": Schema{},
		},
	}
	b.components["HTTPValidationError"] = Schema{
		"type": "object", "required": []any{"detail"},
		"properties": Schema{"detail": Schema{"type": "array", "items": ref("ValidationError")}},
	}
	b.userSchemas(reflect.TypeFor[F]())
	comps := Schema{"schemas": b.components}
	if len(b.schemes) > 0 {
		comps["securitySchemes"] = b.schemes
	}
	doc := Doc{
		"openapi":    "3.1.0",
		"info":       Schema{"title": info.Title, "version": info.Version},
		"servers":    []any{Schema{"url": "/"}},
		"paths":      paths,
		"components": comps,
	}
	if info.Description != "" {
		doc["info"].(Schema)["description"] = info.Description
	}
	if len(tagList) > 0 {
		doc["tags"] = tagList
	}
	return doc, nil
}

// Handler serves doc as JSON (for GET /openapi.json). The document is
// encoded once.
func Handler(doc Doc) gin.HandlerFunc {
	b, err := json.Marshal(doc)
	return func(c *gin.Context) {
		if err != nil {
			c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"detail": "Internal Server Error"})
			return
		}
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "application/json", b)
	}
}

// check refuses a route that does not document itself.
func check(r ginusers.Route, seen map[string]bool) error {
	switch {
	case r.Name == "" || r.Method == "" || r.Path == "" || r.Summary == "" || r.Tag == "":
		return fmt.Errorf("openapi: route %s %s (%q): name, method, path, summary and tag are required", r.Method, r.Path, r.Name)
	case seen[operationID(r.Name)]:
		return fmt.Errorf("openapi: route name %q is used twice (operation id %s)", r.Name, operationID(r.Name))
	case r.Success < 200 || r.Success > 299:
		return fmt.Errorf("openapi: route %q: success status %d is not a 2xx", r.Name, r.Success)
	case r.Success != http.StatusNoContent && r.Response == nil:
		return fmt.Errorf("openapi: route %q: a %d answer needs a documented body (ShapeNull for null)", r.Name, r.Success)
	case r.Success == http.StatusNoContent && r.Response != nil:
		return fmt.Errorf("openapi: route %q: a 204 answer has no body", r.Name)
	case r.Redirect != 0 && (r.Redirect < 300 || r.Redirect > 399):
		return fmt.Errorf("openapi: route %q: redirect status %d is not a 3xx", r.Name, r.Redirect)
	}
	for _, ec := range r.Errors {
		if ec.Status < 400 || ec.Status > 599 {
			return fmt.Errorf("openapi: route %q: error %q answers status %d, not a 4xx or 5xx", r.Name, ec.Code, ec.Status)
		}
	}
	seen[operationID(r.Name)] = true
	return nil
}

// openAPIPath turns Gin's /users/:id into /users/{id} and lists the
// parameters.
func openAPIPath(p string) (string, []string) {
	parts := strings.Split(p, "/")
	var params []string
	for i, s := range parts {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			params = append(params, s[1:])
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/"), params
}

func ref(name string) Schema { return Schema{"$ref": "#/components/schemas/" + name} }

type builder struct {
	schemes, components Schema
	backends            []*ginusers.Backend
	scheme              map[*ginusers.Backend]string
	anyBearer           bool
}

// addScheme describes how backend be's token travels: OAuth2's password
// flow to its login route for a bearer backend, an apiKey cookie for a
// cookie backend. A backend of another transport is not described.
func (b *builder) addScheme(be *ginusers.Backend, routes []ginusers.Route) {
	if b.scheme == nil {
		b.scheme = map[*ginusers.Backend]string{}
	}
	name := be.Name()
	switch t := be.Transport().(type) {
	case *ginusers.BearerTransport:
		b.anyBearer = true
		tokenURL := ""
		for _, r := range routes {
			if r.Backend == be && strings.HasSuffix(r.Name, ".login") {
				tokenURL = strings.TrimPrefix(r.Path, "/") // relative to the server "/"
			}
		}
		if tokenURL == "" {
			b.schemes[name] = Schema{"type": "http", "scheme": "bearer", "description": "Bearer token of the " + name + " backend"}
		} else {
			b.schemes[name] = Schema{
				"type":        "oauth2",
				"description": "OAuth2 password flow: log in at " + tokenURL + " with the e-mail address as username",
				"flows":       Schema{"password": Schema{"tokenUrl": tokenURL, "scopes": Schema{}}},
			}
		}
	case *ginusers.CookieTransport:
		b.schemes[name] = Schema{"type": "apiKey", "in": "cookie", "name": t.Name(), "description": "Session cookie of the " + name + " backend"}
	default:
		return
	}
	b.scheme[be] = name
}

// operation describes route r.
func (b *builder) operation(r ginusers.Route) Schema {
	op := Schema{
		"operationId": operationID(r.Name),
		"summary":     r.Summary,
		"tags":        []any{r.Tag},
	}
	if r.Request != nil {
		op["requestBody"] = Schema{"required": true, "content": b.requestContent(r.Request)}
	}
	resp := Schema{}
	resp[fmt.Sprint(r.Success)] = b.success(r)
	if len(r.Errors) > 0 {
		var codes []string
		examples := Schema{}
		for _, ec := range r.Errors {
			if ec.Status != http.StatusBadRequest {
				continue
			}
			codes = append(codes, string(ec.Code))
			if errorsIsPassword(ec) {
				examples[string(ec.Code)] = Schema{"value": Schema{"detail": Schema{"code": ec.Code, "reason": "Password should be at least 8 characters"}}}
			} else {
				examples[string(ec.Code)] = Schema{"value": Schema{"detail": ec.Code}}
			}
		}
		if len(codes) > 0 {
			resp["400"] = Schema{
				"description": "Bad Request: " + strings.Join(codes, ", "),
				"content":     Schema{"application/json": Schema{"schema": ref("ErrorModel"), "examples": examples}},
			}
		}
		for _, ec := range r.Errors {
			if st := fmt.Sprint(ec.Status); ec.Status != http.StatusBadRequest && resp[st] == nil {
				resp[st] = errorResponse(http.StatusText(ec.Status) + ": " + string(ec.Code))
			}
		}
	}
	if r.Redirect != 0 {
		resp[fmt.Sprint(r.Redirect)] = Schema{
			"description": http.StatusText(r.Redirect),
			"headers":     Schema{"Location": Schema{"schema": Schema{"type": "string"}, "description": "where the browser goes next"}},
		}
	}
	if r.Auth != nil {
		u := errorResponse("Unauthorized: no valid token, or an inactive user")
		if b.anyBearer {
			u["headers"] = Schema{"WWW-Authenticate": Schema{"schema": Schema{"type": "string"}, "description": "Bearer"}}
		}
		resp["401"] = u
		if b.mayForbid(r) {
			resp["403"] = errorResponse("Forbidden: the user lacks a requirement of the route (verified, superuser), or a cookie-authenticated request came from another origin")
		}
		var sec []any
		for _, be := range b.backends {
			if name, ok := b.scheme[be]; ok && (len(r.Auth.Backends) == 0 || slices.Contains(r.Auth.Backends, be)) {
				sec = append(sec, Schema{name: []any{}})
			}
		}
		if len(sec) > 0 {
			op["security"] = sec
		}
	} else if r.Backend != nil && r.Request != nil {
		// A login form: a cookie backend refuses it cross-site.
		if _, ok := r.Backend.Transport().(ginusers.RequestChecker); ok {
			resp["403"] = errorResponse("Forbidden: a cross-origin request")
		}
	}
	if strings.Contains(r.Path, "/:") {
		resp["404"] = errorResponse("Not Found")
	}
	if r.Request != nil {
		resp["413"] = errorResponse("Request Entity Too Large")
	}
	if r.Request != nil || len(r.Query) > 0 {
		resp["422"] = Schema{"description": "Validation Error", "content": Schema{"application/json": Schema{"schema": ref("HTTPValidationError")}}}
	}
	resp["500"] = errorResponse("Internal Server Error")
	u := errorResponse("Service Unavailable: the database cannot be reached (with Retry-After), or the server is too busy hashing passwords")
	u["headers"] = Schema{"Retry-After": Schema{"schema": Schema{"type": "integer"}, "description": "seconds"}}
	resp["503"] = u
	op["responses"] = resp
	return op
}

func errorsIsPassword(ec ginusers.ErrorCase) bool { return ec.Err == ginusers.ErrInvalidPassword }

func errorResponse(desc string) Schema {
	return Schema{"description": desc, "content": Schema{"application/json": Schema{"schema": ref("ErrorModel")}}}
}

// mayForbid reports whether an authenticated route can answer 403: it has
// requirements beyond an active user, or a backend that may authenticate it
// vets requests (a cookie refuses cross-origin unsafe requests).
func (b *builder) mayForbid(r ginusers.Route) bool {
	for _, req := range r.Auth.Requirements {
		if req == ginusers.Verified || req == ginusers.Superuser {
			return true
		}
	}
	for _, be := range b.backends {
		if len(r.Auth.Backends) > 0 && !slices.Contains(r.Auth.Backends, be) {
			continue
		}
		if _, ok := be.Transport().(ginusers.RequestChecker); ok {
			return true
		}
	}
	return false
}

func operationID(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}

// success describes the success answer of r.
func (b *builder) success(r ginusers.Route) Schema {
	s := Schema{"description": http.StatusText(r.Success)}
	if r.Response != nil {
		s["content"] = Schema{"application/json": Schema{"schema": b.bodySchema(r.Response)}}
	}
	if r.Backend != nil {
		if t, ok := r.Backend.Transport().(*ginusers.CookieTransport); ok {
			s["headers"] = Schema{"Set-Cookie": Schema{"schema": Schema{"type": "string"}, "description": "the " + t.Name() + " cookie"}}
		}
	}
	return s
}

// bodySchema is the schema of a body.
func (b *builder) bodySchema(body *ginusers.Body) Schema {
	switch body.Shape {
	case ginusers.ShapeNull:
		return Schema{"type": "null"}
	case ginusers.ShapeUser:
		return ref("UserRead")
	case ginusers.ShapeUserCreate:
		return ref("UserCreate")
	case ginusers.ShapeUserUpdate:
		return ref("UserUpdate")
	case ginusers.ShapeUserUpdateSafe:
		return ref("UserUpdateSelf")
	case ginusers.ShapeLoginForm:
		return loginForm()
	}
	if body.Type == nil {
		return Schema{}
	}
	t := body.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		return structSchema(t, true)
	}
	return typeSchema(t, "")
}

// requestContent is the content of a request body: its schema under its
// content type (and multipart/form-data for a form, which the server reads
// too).
func (b *builder) requestContent(body *ginusers.Body) Schema {
	s := b.bodySchema(body)
	switch body.ContentType {
	case "", "application/json":
		return Schema{"application/json": Schema{"schema": s}}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		return Schema{"application/x-www-form-urlencoded": Schema{"schema": s}, "multipart/form-data": Schema{"schema": s}}
	}
	return Schema{body.ContentType: Schema{"schema": s}}
}

func loginForm() Schema {
	return Schema{
		"type": "object", "required": []any{"username", "password"},
		"properties": Schema{
			"username":      Schema{"type": "string", "description": "the e-mail address"},
			"password":      Schema{"type": "string"},
			"grant_type":    Schema{"type": "string", "pattern": "^(password)?$"},
			"scope":         Schema{"type": "string"},
			"client_id":     Schema{"type": "string"},
			"client_secret": Schema{"type": "string"},
		},
	}
}

// userSchemas adds the schemas of users with application fields of type
// f: UserRead (answers), UserCreate (registration), UserUpdate (a
// superuser's update) and UserUpdateSelf (a user's own update, where the
// flags are ignored).
func (b *builder) userSchemas(f reflect.Type) {
	for f.Kind() == reflect.Pointer {
		f = f.Elem()
	}
	var fields []jsonField
	if f.Kind() == reflect.Struct {
		for _, fd := range jsonFields(f) {
			if !slices.ContainsFunc(reserved, func(r string) bool { return strings.EqualFold(r, fd.name) }) {
				fields = append(fields, fd)
			}
		}
	}
	flag := func(desc string) Schema { return Schema{"type": "boolean", "description": desc} }
	read := Schema{
		"id":           Schema{"type": "string"},
		"email":        Schema{"type": "string", "format": "email"},
		"is_active":    Schema{"type": "boolean"},
		"is_superuser": Schema{"type": "boolean"},
		"is_verified":  Schema{"type": "boolean"},
	}
	read["oauth_accounts"] = Schema{
		"type":        "array",
		"description": "the accounts at OAuth providers linked to the user, when there are any (never their tokens)",
		"items": Schema{
			"type": "object", "required": []any{"id", "oauth_name", "account_id", "account_email", "expires_at"},
			"properties": Schema{
				"id":            Schema{"type": "string"},
				"oauth_name":    Schema{"type": "string"},
				"account_id":    Schema{"type": "string"},
				"account_email": Schema{"type": "string"},
				"expires_at":    Schema{"type": []any{"integer", "null"}, "description": "when the provider's access token expires, in seconds since 1970"},
			},
		},
	}
	readReq := []any{"id", "email", "is_active", "is_superuser", "is_verified"}
	create := Schema{
		"email":        Schema{"type": "string", "format": "email", "maxLength": 2048},
		"password":     Schema{"type": "string"},
		"is_active":    flag("ignored at registration"),
		"is_superuser": flag("ignored at registration"),
		"is_verified":  flag("ignored at registration"),
	}
	createReq := []any{"email", "password"}
	update := Schema{
		"email":        Schema{"type": "string", "format": "email", "maxLength": 2048, "description": "a new address makes the user unverified, unless only its ASCII case changes"},
		"password":     Schema{"type": []any{"string", "null"}, "description": "null leaves the password as it is"},
		"is_active":    flag("false ends every session of the user"),
		"is_superuser": flag(""),
		"is_verified":  flag(""),
	}
	self := Schema{
		"email":        update["email"],
		"password":     update["password"],
		"is_active":    flag("ignored: a user cannot change their own flags"),
		"is_superuser": flag("ignored: a user cannot change their own flags"),
		"is_verified":  flag("ignored: a user cannot change their own flags"),
	}
	for _, fd := range fields {
		s := typeSchema(fd.t, fd.binding)
		read[fd.name] = s
		create[fd.name] = s
		update[fd.name] = s
		self[fd.name] = s
		if !fd.omitEmpty {
			readReq = append(readReq, fd.name)
		}
		if hasRule(fd.binding, "required") {
			createReq = append(createReq, fd.name)
		}
	}
	for k, v := range self {
		if s, ok := v.(Schema); ok && s["description"] == "" {
			delete(s, "description")
			self[k] = s
		}
	}
	for _, s := range []Schema{update} {
		for k, v := range s {
			if sc, ok := v.(Schema); ok && sc["description"] == "" {
				delete(sc, "description")
				s[k] = sc
			}
		}
	}
	b.components["UserRead"] = Schema{"type": "object", "properties": read, "required": readReq}
	b.components["UserCreate"] = Schema{"type": "object", "properties": create, "required": createReq}
	b.components["UserUpdate"] = Schema{"type": "object", "properties": update}
	b.components["UserUpdateSelf"] = Schema{"type": "object", "properties": self}
}
