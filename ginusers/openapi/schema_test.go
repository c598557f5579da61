package openapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type address struct {
	City string `json:"city" binding:"required,max=60"`
	Zip  string `json:"zip,omitempty"`
}

type profile struct {
	Nick     *string           `json:"nick" binding:"omitempty,min=2,max=20"`
	Plan     string            `json:"plan" binding:"required,oneof=free pro"`
	Level    *int              `json:"level" binding:"omitempty,oneof=1 2 3"`
	Age      int               `json:"age" binding:"gte=0,lte=150"`
	Score    float64           `json:"score,omitempty" binding:"gt=0,lt=1"`
	Contact  string            `json:"contact" binding:"omitempty,email"`
	Site     string            `json:"site" binding:"omitempty,url"`
	Ref      string            `json:"ref" binding:"omitempty,uuid"`
	Code     string            `json:"code" binding:"len=6"`
	Tags     []string          `json:"tags" binding:"max=5"`
	Labels   map[string]int    `json:"labels"`
	Avatar   []byte            `json:"avatar"`
	Born     time.Time         `json:"born"`
	Home     address           `json:"home"`
	Extra    any               `json:"extra"`
	Raw      json.RawMessage   `json:"raw"`
	Secret   string            `json:"-"`
	Dash     string            `json:"-,"`
	NoTag    bool              //nolint:revive // the JSON name is the Go name
	unexport string            //nolint:unused
	Nested   map[string][]bool `json:"nested,omitzero"`
}

// TestTypeSchema checks each Go type and binding rule against the JSON
// Schema encoding/json and the validator make true.
func TestTypeSchema(t *testing.T) {
	s := typeSchema(reflect.TypeFor[profile](), "")
	want := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"nick":    map[string]any{"type": []any{"string", "null"}, "minLength": 2, "maxLength": 20},
			"plan":    map[string]any{"type": "string", "enum": []any{"free", "pro"}},
			"level":   map[string]any{"type": []any{"integer", "null"}, "enum": []any{1, 2, 3, nil}},
			"age":     map[string]any{"type": "integer", "minimum": 0, "maximum": 150},
			"score":   map[string]any{"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
			"contact": map[string]any{"type": "string", "format": "email"},
			"site":    map[string]any{"type": "string", "format": "uri"},
			"ref":     map[string]any{"type": "string", "format": "uuid"},
			"code":    map[string]any{"type": "string", "minLength": 6, "maxLength": 6},
			"tags":    map[string]any{"type": []any{"array", "null"}, "items": map[string]any{"type": "string"}, "maxItems": 5},
			"labels":  map[string]any{"type": []any{"object", "null"}, "additionalProperties": map[string]any{"type": "integer"}},
			"avatar":  map[string]any{"type": []any{"string", "null"}, "contentEncoding": "base64"},
			"born":    map[string]any{"type": "string", "format": "date-time"},
			"home": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"city": map[string]any{"type": "string", "maxLength": 60},
					"zip":  map[string]any{"type": "string"},
				},
				"required": []any{"city"},
			},
			"extra": map[string]any{},
			"raw":   map[string]any{},
			"-":     map[string]any{"type": "string"},
			"NoTag": map[string]any{"type": "boolean"},
			"nested": map[string]any{
				"type":                 []any{"object", "null"},
				"additionalProperties": map[string]any{"type": []any{"array", "null"}, "items": map[string]any{"type": "boolean"}},
			},
		},
		"required": []any{"nick", "plan", "level", "age", "contact", "site", "ref", "code", "tags", "labels", "avatar", "born", "home", "extra", "raw", "-", "NoTag"},
	}
	if got, want := canonical(t, s), canonical(t, want); got != want {
		t.Errorf("typeSchema(profile) =\n%s\nwant\n%s", got, want)
	}
}

// TestTypeSchemaRequest: in a request, the fields tagged required are
// required, whatever their omitempty.
func TestTypeSchemaRequest(t *testing.T) {
	s := structSchema(reflect.TypeFor[profile](), true)
	if got, want := canonical(t, s["required"]), canonical(t, []any{"plan"}); got != want {
		t.Errorf("required = %s, want %s", got, want)
	}
}

// TestTypeSchemaMatchesEncoding: a value encoding/json writes validates
// against the schema's types (the nullable ones written as null).
func TestTypeSchemaMatchesEncoding(t *testing.T) {
	b, err := json.Marshal(profile{})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	props := typeSchema(reflect.TypeFor[profile](), "")["properties"].(Schema)
	for name, value := range v {
		p, ok := props[name].(Schema)
		if !ok {
			t.Errorf("encoding/json writes %q, which the schema does not describe", name)
			continue
		}
		if !typeAllows(p["type"], value) {
			t.Errorf("%q: encoding/json writes %#v, schema type %v", name, value, p["type"])
		}
	}
	for name := range props {
		if _, ok := v[name]; !ok && name != "score" && name != "nested" {
			t.Errorf("the schema describes %q, which encoding/json does not write", name)
		}
	}
}

func typeAllows(typ any, v any) bool {
	kind := "null"
	switch v.(type) {
	case string:
		kind = "string"
	case bool:
		kind = "boolean"
	case float64:
		kind = "number"
	case []any:
		kind = "array"
	case map[string]any:
		kind = "object"
	}
	allows := func(t string) bool { return t == kind || kind == "number" && t == "integer" }
	switch t := typ.(type) {
	case nil:
		return true
	case string:
		return allows(t)
	case []any:
		for _, x := range t {
			if allows(x.(string)) {
				return true
			}
		}
	}
	return false
}

func TestOperationID(t *testing.T) {
	for name, want := range map[string]string{
		"users:current_user": "users_current_user",
		"auth:jwt.login":     "auth_jwt_login",
		"auth:my-cookie.x":   "auth_my_cookie_x",
		"app:ünïcode route":  "app__n_code_route",
	} {
		if got := operationID(name); got != want {
			t.Errorf("operationID(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestOpenAPIPath(t *testing.T) {
	for path, want := range map[string]string{
		"/users/:id":          "/users/{id}",
		"/a/:x/b/:y":          "/a/{x}/b/{y}",
		"/files/*rest":        "/files/{rest}",
		"/users/me":           "/users/me",
		"/api/v1/auth/logout": "/api/v1/auth/logout",
	} {
		if got, _ := openAPIPath(path); got != want {
			t.Errorf("openAPIPath(%q) = %q, want %q", path, got, want)
		}
	}
}

// canonical is v as JSON with numbers as JSON numbers, so that an int and
// a float64 of the same value compare equal.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	b, err = json.MarshalIndent(x, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
