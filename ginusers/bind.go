package ginusers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"
)

// fieldError is one entry of a 422 answer, in FastAPI's shape:
// {"type": "missing", "loc": ["body", "email"], "msg": "Field required"}.
type fieldError struct {
	Type  string          `json:"type"`
	Loc   []any           `json:"loc"`
	Msg   string          `json:"msg"`
	Input json.RawMessage `json:"input,omitempty"`
}

// requestError is a request the routes refuse before the domain sees it:
// a body that cannot be read (413, 400) or is not what the route takes
// (422, with FastAPI's list of field errors as the detail).
type requestError struct {
	status int
	detail any
}

func (e *requestError) Error() string {
	return "ginusers: bad request body (" + http.StatusText(e.status) + ")"
}

func unprocessable(errs ...fieldError) *requestError {
	return &requestError{status: http.StatusUnprocessableEntity, detail: errs}
}

// QueryError returns an error that [Mount] answers 422 in FastAPI's shape
// for the query parameter name: {"detail": [{"type": typ, "loc":
// ["query", name], "msg": msg}]}. typ is FastAPI's error type ("missing",
// "value_error", "string_too_long", ...).
func QueryError(name, typ, msg string) error {
	return &requestError{status: http.StatusUnprocessableEntity, detail: []fieldError{{Type: typ, Loc: []any{"query", name}, Msg: msg}}}
}

// BadRequest returns an error that [Mount] answers 400 {"detail": detail},
// for a route's refusal that has no domain error: a status phrase ("Bad
// Request") or an [ErrorCode]. detail is shown to the client as it is.
func BadRequest(detail string) error {
	return &requestError{status: http.StatusBadRequest, detail: detail}
}

func fieldErr(typ, msg string, loc ...any) fieldError {
	return fieldError{Type: typ, Loc: append([]any{"body"}, loc...), Msg: msg}
}

// readBody reads the whole body, at most limit bytes (413 beyond).
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	if c.Request.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &requestError{status: http.StatusRequestEntityTooLarge, detail: "Request Entity Too Large"}
		}
		return nil, &requestError{status: http.StatusBadRequest, detail: "Bad Request"}
	}
	return body, nil
}

// BindJSON decodes the JSON object body of a request to a [Route] (whose
// [Body] is JSON: [Mount] has read it) into dst, a pointer to a struct, by
// its json tags, and validates it with its binding tags (Gin's validator).
// A body that is not a JSON object, a field of the wrong type or one that
// fails its tags gives an error that the route answers 422 in FastAPI's
// shape, as the built-in routes do.
func BindJSON(c *gin.Context, dst any) error {
	obj, err := parseObject(routeBody(c))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(obj.raw, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return unprocessable(typeError(te))
		}
		return unprocessable(fieldErr("value_error", "Input is not valid"))
	}
	if err := binding.Validator.ValidateStruct(dst); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return unprocessable(fieldErr("value_error", "Input is not valid"))
		}
		fi := fieldsOf(reflect.TypeOf(dst))
		errs := make([]fieldError, 0, len(verrs))
		for _, fe := range verrs {
			errs = append(errs, validationError(fi, fe))
		}
		return unprocessable(errs...)
	}
	return nil
}

// readForm reads a form body (urlencoded or multipart), at most limit
// bytes (413 beyond). A body of another type gives an empty form, so that
// the fields it lacks are reported (a JSON body posted to the login route
// is 422, as in FastAPI).
func readForm(c *gin.Context, limit int64) (map[string][]string, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	mt, _, _ := mime.ParseMediaType(c.ContentType())
	var err error
	switch mt {
	case "application/x-www-form-urlencoded":
		if err = c.Request.ParseForm(); err == nil {
			return c.Request.PostForm, nil
		}
	case "multipart/form-data":
		if err = c.Request.ParseMultipartForm(limit); err == nil {
			return c.Request.MultipartForm.Value, nil
		}
	default:
		return map[string][]string{}, nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &requestError{status: http.StatusRequestEntityTooLarge, detail: "Request Entity Too Large"}
	}
	return nil, unprocessable(fieldErr("missing", "Field required", "username"), fieldErr("missing", "Field required", "password"))
}

// jsonObject is a request body decoded one level deep.
type jsonObject struct {
	raw    []byte
	fields map[string]json.RawMessage
}

// jsonBody is a request body read by readJSON.
type jsonBody struct {
	data []byte
	// notJSON is set when the Content-Type says the body is not JSON: it
	// was not parsed, and parseObject refuses it.
	notJSON bool
}

// isJSONContentType reports whether a body of content type ct is read as
// JSON: FastAPI's rule since its fix of CVE-2021-32677, which D1 adopts. An
// absent type, application/json and application/*+json are; anything else
// (text/plain, a form: what a cross-site page can send without a
// preflight) is not.
func isJSONContentType(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// readJSON reads a body that must be JSON. A malformed body is 422
// json_invalid; FastAPI reports it while reading the body, before
// authentication, and so do the routes here. An empty body, and a body
// whose Content-Type is not JSON (never parsed), are left for parseObject
// to refuse, after authentication.
func readJSON(c *gin.Context, limit int64) (jsonBody, error) {
	body, err := readBody(c, limit)
	if err != nil {
		return jsonBody{}, err
	}
	if !isJSONContentType(c.GetHeader("Content-Type")) {
		return jsonBody{notJSON: true}, nil
	}
	if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
		return jsonBody{}, unprocessable(fieldError{Type: "json_invalid", Loc: []any{"body", 0}, Msg: "JSON decode error"})
	}
	return jsonBody{data: body}, nil
}

// parseObject decodes a JSON body one level deep; a body that is not an
// object, or not JSON by its Content-Type, is 422 model_attributes_type.
func parseObject(body jsonBody) (*jsonObject, error) {
	notObject := unprocessable(fieldError{Type: "model_attributes_type", Loc: []any{"body"}, Msg: "Input should be a valid dictionary or object to extract fields from"})
	if body.notJSON {
		return nil, notObject
	}
	if len(bytes.TrimSpace(body.data)) == 0 {
		return nil, unprocessable(fieldError{Type: "missing", Loc: []any{"body"}, Msg: "Field required"})
	}
	obj := &jsonObject{raw: body.data}
	if err := json.Unmarshal(body.data, &obj.fields); err != nil || obj.fields == nil {
		return nil, notObject
	}
	return obj, nil
}

// readJSONObject reads a JSON object body.
func readJSONObject(c *gin.Context, limit int64) (*jsonObject, error) {
	body, err := readJSON(c, limit)
	if err != nil {
		return nil, err
	}
	return parseObject(body)
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// str reads a string field. Absent gives (nil, nil) unless required; null
// gives (nil, nil) when nullable and an error otherwise.
func (o *jsonObject) str(name string, required, nullable bool) (*string, *fieldError) {
	raw, ok := o.fields[name]
	if !ok {
		if required {
			e := fieldErr("missing", "Field required", name)
			return nil, &e
		}
		return nil, nil
	}
	if isNull(raw) && nullable {
		return nil, nil
	}
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		e := fieldErr("string_type", "Input should be a valid string", name)
		return nil, &e
	}
	return &s, nil
}

// boolean reads a boolean field; absent gives nil; null gives nil when
// nullable and an error otherwise (D1: a flag cannot be set to null).
func (o *jsonObject) boolean(name string, nullable bool) (*bool, *fieldError) {
	raw, ok := o.fields[name]
	if !ok || nullable && isNull(raw) {
		return nil, nil
	}
	var b bool
	if isNull(raw) || json.Unmarshal(raw, &b) != nil {
		e := fieldErr("bool_type", "Input should be a valid boolean", name)
		return nil, &e
	}
	return &b, nil
}

// email reads and normalises an e-mail field.
func (o *jsonObject) email(name string, required bool) (*string, *fieldError) {
	s, fe := o.str(name, required, false)
	if fe != nil || s == nil {
		return nil, fe
	}
	norm, err := NormalizeEmail(*s)
	if err != nil {
		e := emailFieldError(name, *s, err.Error())
		return nil, &e
	}
	return &norm, nil
}

// emailFieldError is the 422 entry of an invalid address.
func emailFieldError(name, input, reason string) fieldError {
	e := fieldErr("value_error", "value is not a valid email address: "+reason, name)
	e.Input, _ = json.Marshal(input)
	return e
}

// fieldInfo describes the JSON fields of an application field type.
type fieldInfo struct {
	empty    bool              // no JSON field at all
	shadows  bool              // some JSON name collides with a standard one
	names    []string          // JSON names, reserved ones left out
	notNull  map[string]bool   // names whose Go type cannot hold null
	goToJSON map[string]string // Go field name -> JSON name
}

var fieldInfoCache sync.Map // reflect.Type -> *fieldInfo

func fieldsOf(t reflect.Type) *fieldInfo {
	if fi, ok := fieldInfoCache.Load(t); ok {
		return fi.(*fieldInfo)
	}
	fi := &fieldInfo{notNull: map[string]bool{}, goToJSON: map[string]string{}}
	key := t
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		for _, f := range reflect.VisibleFields(t) {
			if !f.IsExported() || f.Anonymous {
				continue
			}
			name := f.Name
			if tag, ok := f.Tag.Lookup("json"); ok {
				n, _, comma := strings.Cut(tag, ",")
				if n == "-" && !comma { // `json:"-,"` is a field named "-"
					continue
				}
				if n != "" {
					name = n
				}
			}
			fi.goToJSON[f.Name] = name
			if isReserved(name) {
				fi.shadows = true
				continue
			}
			fi.names = append(fi.names, name)
			switch f.Type.Kind() {
			case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
			default:
				fi.notNull[name] = true
			}
		}
	}
	if t.Kind() == reflect.Struct {
		fi.empty = len(fi.names) == 0 && !fi.shadows
	} else {
		// A map or a pointer: its keys are known only at run time.
		fi.shadows = true
	}
	fieldInfoCache.Store(key, fi)
	return fi
}

// decodeFields decodes the application's fields of the body onto dst (only
// the fields present change) and validates the result with gin's validator
// (binding tags): always when all is set, else only if a field is present.
// It returns the JSON names of the fields present.
func decodeFields[F any](o *jsonObject, dst *F, all bool) ([]string, []fieldError) {
	fi := fieldsOf(reflect.TypeFor[F]())
	var present []string
	var errs []fieldError
	sub := map[string]json.RawMessage{}
	for _, n := range fi.names {
		raw, ok := o.fields[n]
		if !ok {
			continue
		}
		present = append(present, n)
		if fi.notNull[n] && isNull(raw) {
			errs = append(errs, fieldErr("null_type", "Input should not be null", n))
			continue
		}
		sub[n] = raw
	}
	if len(errs) > 0 {
		return present, errs
	}
	if len(sub) > 0 {
		b, _ := json.Marshal(sub)
		if err := json.Unmarshal(b, dst); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return present, []fieldError{typeError(te)}
			}
			return present, []fieldError{fieldErr("value_error", "Input is not valid")}
		}
	}
	if !all && len(present) == 0 {
		return nil, nil
	}
	if err := binding.Validator.ValidateStruct(dst); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return present, []fieldError{fieldErr("value_error", "Input is not valid")}
		}
		for _, fe := range verrs {
			errs = append(errs, validationError(fi, fe))
		}
	}
	return present, errs
}

func typeError(te *json.UnmarshalTypeError) fieldError {
	loc := []any{}
	for _, p := range strings.Split(te.Field, ".") {
		if p != "" {
			loc = append(loc, p)
		}
	}
	switch te.Type.Kind() {
	case reflect.String:
		return fieldErr("string_type", "Input should be a valid string", loc...)
	case reflect.Bool:
		return fieldErr("bool_type", "Input should be a valid boolean", loc...)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fieldErr("int_type", "Input should be a valid integer", loc...)
	case reflect.Float32, reflect.Float64:
		return fieldErr("float_type", "Input should be a valid number", loc...)
	case reflect.Slice, reflect.Array:
		return fieldErr("list_type", "Input should be a valid list", loc...)
	}
	return fieldErr("model_type", fmt.Sprintf("Input should be a valid %s", te.Type.Kind()), loc...)
}

func validationError(fi *fieldInfo, fe validator.FieldError) fieldError {
	name := fe.StructField()
	if n, ok := fi.goToJSON[name]; ok {
		name = n
	}
	p := fe.Param()
	switch fe.Tag() {
	case "required":
		return fieldErr("missing", "Field required", name)
	case "max", "lte":
		if fe.Kind() == reflect.String {
			return fieldErr("string_too_long", "String should have at most "+p+" characters", name)
		}
		return fieldErr("less_than_equal", "Input should be less than or equal to "+p, name)
	case "min", "gte":
		if fe.Kind() == reflect.String {
			return fieldErr("string_too_short", "String should have at least "+p+" characters", name)
		}
		return fieldErr("greater_than_equal", "Input should be greater than or equal to "+p, name)
	case "oneof":
		return fieldErr("enum", "Input should be one of: "+p, name)
	case "email":
		return fieldErr("value_error", "value is not a valid email address", name)
	}
	return fieldErr("value_error", fmt.Sprintf("Value error, failed the %q rule", fe.Tag()), name)
}
