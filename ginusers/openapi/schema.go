package openapi

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Schema is a JSON Schema (2020-12, as OpenAPI 3.1 uses it), built as a
// JSON object.
type Schema = map[string]any

// typeSchema returns the schema of values of t as encoding/json writes and
// reads them: structs by their json tags, pointers, slices, maps and
// interfaces nullable. tags is the binding tag of the field being
// described, whose rules become constraints (max=100 → maxLength 100 on a
// string, maximum 100 on a number; min, len, gte, lte, gt, lt, oneof,
// email, url, uuid).
func typeSchema(t reflect.Type, binding string) Schema {
	nullable := false
	for t.Kind() == reflect.Pointer {
		nullable = true
		t = t.Elem()
	}
	var s Schema
	switch {
	case t == reflect.TypeFor[time.Time]():
		s = Schema{"type": "string", "format": "date-time"}
	case t == reflect.TypeFor[json.RawMessage]():
		s = Schema{}
	case t.Kind() == reflect.Interface:
		return Schema{} // any JSON value, null included
	case t.Kind() == reflect.String:
		s = Schema{"type": "string"}
	case t.Kind() == reflect.Bool:
		s = Schema{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s = Schema{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		s = Schema{"type": "number"}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		s = Schema{"type": "string", "contentEncoding": "base64"}
		nullable = true
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		s = Schema{"type": "array", "items": typeSchema(t.Elem(), "")}
		nullable = nullable || t.Kind() == reflect.Slice
	case t.Kind() == reflect.Map:
		s = Schema{"type": "object", "additionalProperties": typeSchema(t.Elem(), "")}
		nullable = true
	case t.Kind() == reflect.Struct:
		s = structSchema(t, false)
	default:
		s = Schema{}
	}
	constrain(s, binding)
	if nullable {
		if typ, ok := s["type"].(string); ok {
			s["type"] = []any{typ, "null"}
		}
		if enum, ok := s["enum"].([]any); ok {
			s["enum"] = append(enum, nil)
		}
	}
	return s
}

// jsonField is an exported field of a struct as encoding/json sees it.
type jsonField struct {
	name      string
	t         reflect.Type
	omitEmpty bool
	binding   string
}

// jsonFields lists the fields encoding/json writes for a struct of type t,
// promoted fields of embedded structs included.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue
		}
		name, opts, comma := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && !comma { // `json:"-,"` is a field named "-"
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{
			name: name, t: f.Type, binding: f.Tag.Get("binding"),
			omitEmpty: strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,"),
		})
	}
	return out
}

// structSchema returns the schema of a struct: its properties; the fields
// written always (no omitempty) are required in a response, and those
// tagged binding:"required" in a request.
func structSchema(t reflect.Type, request bool) Schema {
	props := Schema{}
	var required []any
	for _, f := range jsonFields(t) {
		props[f.name] = typeSchema(f.t, f.binding)
		if request && hasRule(f.binding, "required") || !request && !f.omitEmpty {
			required = append(required, f.name)
		}
	}
	s := Schema{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// hasRule reports whether a binding tag holds rule.
func hasRule(binding, rule string) bool {
	for r := range strings.SplitSeq(binding, ",") {
		if name, _, _ := strings.Cut(r, "="); name == rule {
			return true
		}
	}
	return false
}

// constrain adds to s the constraints of a binding tag that JSON Schema can
// say; rules it cannot say (dive, custom validators) are left out, and the
// server still enforces them (422).
func constrain(s Schema, binding string) {
	typ, _ := s["type"].(string)
	for r := range strings.SplitSeq(binding, ",") {
		name, param, _ := strings.Cut(r, "=")
		n, err := strconv.ParseFloat(param, 64)
		number := err == nil
		switch {
		case typ == "string" && number && (name == "max" || name == "lte"):
			s["maxLength"] = int(n)
		case typ == "string" && number && (name == "min" || name == "gte"):
			s["minLength"] = int(n)
		case typ == "string" && number && name == "len":
			s["minLength"], s["maxLength"] = int(n), int(n)
		case (typ == "integer" || typ == "number") && number && (name == "max" || name == "lte"):
			s["maximum"] = n
		case (typ == "integer" || typ == "number") && number && (name == "min" || name == "gte"):
			s["minimum"] = n
		case (typ == "integer" || typ == "number") && number && name == "lt":
			s["exclusiveMaximum"] = n
		case (typ == "integer" || typ == "number") && number && name == "gt":
			s["exclusiveMinimum"] = n
		case typ == "array" && number && name == "max":
			s["maxItems"] = int(n)
		case typ == "array" && number && name == "min":
			s["minItems"] = int(n)
		case name == "oneof" && param != "":
			var enum []any
			for v := range strings.FieldsSeq(param) {
				if typ == "integer" || typ == "number" {
					if x, err := strconv.ParseFloat(v, 64); err == nil {
						enum = append(enum, x)
						continue
					}
				}
				enum = append(enum, v)
			}
			s["enum"] = enum
		case typ == "string" && name == "email":
			s["format"] = "email"
		case typ == "string" && (name == "url" || name == "uri"):
			s["format"] = "uri"
		case typ == "string" && name == "uuid":
			s["format"] = "uuid"
		}
	}
}
