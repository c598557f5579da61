package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"
)

// The form of the application's fields F is generated from F: one control
// per exported field, named by its JSON name (as the API names it),
// labelled by the message "field.<json name>" or else by the name itself
// ("first_name" gives "First name"). Strings get a text box, booleans a
// check box, numbers a number box; a pointer to one of these is optional
// (an empty box, or "Not set", stores nil). Fields of other types (times,
// lists, structs) are shown read-only, as JSON, and never written. A save
// writes only the fields whose value differs from the one the form was
// shown with (each control has a hidden twin holding that value), so a
// concurrent change of another field is never undone; the result is
// validated with F's binding tags (Gin's validator), as the API does.

// Kinds of controls.
const (
	kindText     = "text"
	kindEmail    = "email"
	kindPassword = "password"
	kindNumber   = "number"
	kindCheckbox = "checkbox"
	kindTristate = "tristate" // *bool: not set, yes, no
	kindReadonly = "readonly"
)

// fieldSpec is one field of F in the form.
type fieldSpec struct {
	json  string
	goNm  string
	index []int
	label string
	kind  string
	step  string // for numbers: "1" or "any"
	ptr   bool   // optional: empty stores nil
	typ   reflect.Type
}

// formSpec is the form of F.
type formSpec struct {
	typ    reflect.Type
	fields []fieldSpec
	byGo   map[string]*fieldSpec
}

// reserved are the names of the standard fields; an application field of
// one of these JSON names is not the API's either, and is left out.
var reserved = []string{"id", "email", "password", "hashed_password", "is_active", "is_superuser", "is_verified", "oauth_accounts"}

func newFormSpec[F any](msgs map[string]string) (*formSpec, error) {
	t := reflect.TypeFor[F]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("the application fields %s are not a struct", t)
	}
	s := &formSpec{typ: t, byGo: map[string]*fieldSpec{}}
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
		if isReserved(name) {
			continue
		}
		fs := fieldSpec{json: name, goNm: f.Name, index: f.Index, typ: f.Type}
		fs.label = msgs["field."+name]
		if fs.label == "" {
			fs.label = humanize(name)
		}
		fs.kind = kindReadonly
		if !behindPointer(t, f.Index) {
			typ := f.Type
			if typ.Kind() == reflect.Pointer {
				typ, fs.ptr = typ.Elem(), true
			}
			switch typ.Kind() {
			case reflect.String:
				fs.kind = kindText
			case reflect.Bool:
				fs.kind = kindCheckbox
				if fs.ptr {
					fs.kind = kindTristate
				}
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				fs.kind, fs.step = kindNumber, "1"
			case reflect.Float32, reflect.Float64:
				fs.kind, fs.step = kindNumber, "any"
			}
			if typ.PkgPath() != "" && typ.Kind() != reflect.Struct && fs.kind != kindReadonly {
				// A named type (an enum, a duration) may mean more than its
				// kind says; show it as the API writes it.
				if _, ok := reflect.New(typ).Interface().(json.Marshaler); ok {
					fs.kind = kindReadonly
				}
			}
			if fs.kind == kindReadonly {
				fs.ptr = false
			}
		}
		s.fields = append(s.fields, fs)
	}
	for i := range s.fields {
		s.byGo[s.fields[i].goNm] = &s.fields[i]
	}
	return s, nil
}

// behindPointer reports whether the field at index is reached through an
// embedded pointer, which may be nil: such fields are shown, not edited.
func behindPointer(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Pointer {
			return true
		}
		t = f.Type
	}
	return false
}

func isReserved(name string) bool {
	for _, r := range reserved {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

// humanize turns "first_name" into "First name".
func humanize(name string) string {
	s := strings.TrimSpace(strings.NewReplacer("_", " ", "-", " ").Replace(name))
	if s == "" {
		return name
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fieldView is one control as templates show it.
type fieldView struct {
	// Input is the control's name ("email", "f.first_name") and ID its
	// element id ("field-email", "field-f-first_name").
	Input, ID string
	Label     string
	// Kind is "text", "email", "password", "number", "checkbox",
	// "tristate" or "readonly".
	Kind string
	Step string
	// Value is the value shown; Checked for check boxes.
	Value   string
	Checked bool
	// Was is the value the form was first shown with, sent back in a hidden
	// field "was.<Input>" so that a save writes only what changed.
	Was string
	// Optional: an empty value stores nothing (nil).
	Optional bool
	// Hint is a line of help under the control; Error the validation error.
	Hint, Error string
	// Autocomplete is the control's autocomplete attribute.
	Autocomplete string
}

func fieldID(input string) string { return "field-" + strings.ReplaceAll(input, ".", "-") }

// inputName is the form name of an application field.
func inputName(json string) string { return "f." + json }

// views returns the controls of the fields of v (an F), with errs by JSON
// name. was, when not nil, gives the values the form was first shown with
// (after a failed save: the submitted form).
func (s *formSpec) views(v reflect.Value, errs map[string]string, submitted url.Values) []fieldView {
	out := make([]fieldView, 0, len(s.fields))
	for i := range s.fields {
		f := &s.fields[i]
		in := inputName(f.json)
		fv := fieldView{Input: in, ID: fieldID(in), Label: f.label, Kind: f.kind, Step: f.step, Optional: f.ptr, Error: errs[f.json]}
		val := fieldValue(v, f)
		if f.kind == kindReadonly {
			b, err := json.Marshal(val.Interface())
			if err != nil {
				b = []byte("?")
			}
			fv.Value = string(b)
		} else {
			fv.Value = formatValue(val)
			fv.Was = fv.Value
			if submitted != nil {
				fv.Value = submittedValue(submitted, in, f.kind)
				if submitted.Has("was." + in) {
					fv.Was = submitted.Get("was." + in)
				}
			}
			fv.Checked = fv.Value == "true"
		}
		out = append(out, fv)
	}
	return out
}

// fieldValue returns the field of v (an F) that f names.
func fieldValue(v reflect.Value, f *fieldSpec) reflect.Value {
	fv, err := v.FieldByIndexErr(f.index)
	if err != nil {
		return reflect.Zero(f.typ)
	}
	return fv
}

// formatValue writes a field's value as its control holds it: "" for nil.
func formatValue(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits())
	}
	return ""
}

// submittedValue is the value a control sent, in formatValue's form: a
// check box sends "true" when checked and nothing otherwise.
func submittedValue(form url.Values, input, kind string) string {
	if kind == kindCheckbox {
		return strconv.FormatBool(form.Get(input) == "true")
	}
	return form.Get(input)
}

// changed reports whether the control input sent a value other than the
// one the form was shown with; without that value (a hand-made request)
// every control counts as changed.
func changed(form url.Values, input, kind string) bool {
	if !form.Has("was." + input) {
		return true
	}
	return submittedValue(form, input, kind) != form.Get("was."+input)
}

// parse applies the changed controls of form to dst (an addressable F):
// all controls when all is set (a new user). It returns the JSON names of
// the fields written and the errors by JSON name: parse errors, then, if
// there are none, the validation of the whole of dst by its binding tags.
func (s *formSpec) parse(form url.Values, dst reflect.Value, all bool, msg func(string, ...any) string) ([]string, map[string]string) {
	var names []string
	errs := map[string]string{}
	for i := range s.fields {
		f := &s.fields[i]
		if f.kind == kindReadonly {
			continue
		}
		in := inputName(f.json)
		if f.kind != kindCheckbox && !form.Has(in) {
			// Not in the form (a hand-made request): left as it is.
			continue
		}
		if !all && !changed(form, in, f.kind) {
			continue
		}
		fv, err := dst.FieldByIndexErr(f.index)
		if err != nil {
			continue
		}
		if err := setValue(fv, submittedValue(form, in, f.kind), f); err != nil {
			errs[f.json] = msg(err.Error())
			continue
		}
		names = append(names, f.json)
	}
	if len(errs) > 0 {
		return names, errs
	}
	if err := binding.Validator.ValidateStruct(dst.Addr().Interface()); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			errs[""] = msg("validation.invalid")
			return names, errs
		}
		for _, fe := range verrs {
			name := fe.StructField()
			if f, ok := s.byGo[name]; ok {
				name = f.json
			}
			if _, seen := errs[name]; !seen {
				errs[name] = validationMessage(fe, msg)
			}
		}
	}
	return names, errs
}

// setValue stores raw, as a control sent it, in v. Its error is the key of
// the message to show.
func setValue(v reflect.Value, raw string, f *fieldSpec) error {
	if f.ptr {
		if raw == "" {
			v.SetZero()
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := setScalar(p.Elem(), raw); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	return setScalar(v, raw)
}

func setScalar(v reflect.Value, raw string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("validation.bool")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, v.Type().Bits())
		if err != nil {
			return errors.New("validation.int")
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(raw), 10, v.Type().Bits())
		if err != nil {
			return errors.New("validation.uint")
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(strings.TrimSpace(raw), v.Type().Bits())
		// NaN and the infinities parse, but no JSON holds them: stored,
		// they would break every JSON answer about the user.
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return errors.New("validation.number")
		}
		v.SetFloat(n)
	default:
		return errors.New("validation.invalid")
	}
	return nil
}

// validationMessage says what a binding rule wants, in the message table's
// words.
func validationMessage(fe validator.FieldError, msg func(string, ...any) string) string {
	p := fe.Param()
	str := fe.Kind() == reflect.String
	switch fe.Tag() {
	case "required":
		return msg("validation.required")
	case "max", "lte":
		if str {
			return msg("validation.max_length", p)
		}
		return msg("validation.max", p)
	case "min", "gte":
		if str {
			return msg("validation.min_length", p)
		}
		return msg("validation.min", p)
	case "len":
		return msg("validation.len", p)
	case "oneof":
		return msg("validation.oneof", p)
	case "email":
		return msg("validation.email")
	}
	return msg("validation.rule", fe.Tag())
}
