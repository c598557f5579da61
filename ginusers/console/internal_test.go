package console

import (
	"encoding/json"
	"io/fs"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEveryMessageATemplateUsesExists(t *testing.T) {
	base, err := fs.Sub(embedded, "templates")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(base, "*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	used := regexp.MustCompile(`msg "([^"]+)"`)
	for _, f := range files {
		b, err := fs.ReadFile(base, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := defaultMessages[m[1]]; !ok {
				t.Errorf("%s uses the message %q, which does not exist", f, m[1])
			}
		}
	}
	// Keys the code builds.
	var keys []string
	for _, a := range userActionNames {
		keys = append(keys, "action."+a)
	}
	for _, n := range []string{"signed_out", "saved", "saved_unverified", "unchanged", "created", "created_link", "created_link_failed",
		"activated", "deactivated", "promoted", "demoted", "verified", "reset_sent", "logged_out", "deleted", "none_selected"} {
		keys = append(keys, "notice."+n)
	}
	keys = append(keys, "users.caption.email", "users.caption.id", errSelf.key, errLastAdmin.key, errInactive.key,
		"validation.int", "validation.uint", "validation.number", "validation.bool", "validation.invalid")
	for _, k := range keys {
		if _, ok := defaultMessages[k]; !ok {
			t.Errorf("the message %q does not exist", k)
		}
	}
}

func TestSafeNextKeepsRedirectsInTheConsole(t *testing.T) {
	c := &console[struct{}]{base: "/admin"}
	for next, want := range map[string]string{
		"/admin/users?q=x":           "/admin/users?q=x",
		"/admin/users/abc":           "/admin/users/abc",
		"":                           "/admin/users",
		"/admin":                     "/admin/users",
		"//evil.example/admin/":      "/admin/users",
		"https://evil.example/admin": "/admin/users",
		"/admin/../x":                "/admin/users",
		"/admin/%2e%2e/x":            "/admin/users",
		"/admin/./users":             "/admin/users",
		"/admin\\evil":               "/admin/users",
		"/admin/users\r\nX: y":       "/admin/users",
		"/admin/signin":              "/admin/users",
		"/admin/static/console.css":  "/admin/users",
		"/administrator":             "/admin/users",
	} {
		if got := c.safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
	root := &console[struct{}]{base: ""}
	if got := root.safeNext("//evil.example"); got != "/users" {
		t.Errorf("at the root, safeNext(//evil.example) = %q", got)
	}
}

func TestParseSessionAcceptsOnlyWhatTheConsoleIssues(t *testing.T) {
	good := b64.EncodeToString(randomBytes(32)) + "." + b64.EncodeToString(randomBytes(32))
	if _, ok := parseSession(good); !ok {
		t.Fatalf("parseSession(%q) refused a good value", good)
	}
	for _, v := range []string{"", ".", good + "x", "x" + good, strings.Replace(good, ".", "", 1), good[:43] + "." + good[:43] + "=",
		b64.EncodeToString(randomBytes(31)) + "." + b64.EncodeToString(randomBytes(32)), strings.Repeat("A", 200)} {
		if _, ok := parseSession(v); ok {
			t.Errorf("parseSession(%q) accepted it", v)
		}
	}
}

func TestFormTokensAreBoundToTheSessionAndThePurpose(t *testing.T) {
	a, b := randomBytes(32), randomBytes(32)
	tok := formToken(a, purposeForm)
	switch {
	case !checkFormToken(a, purposeForm, tok):
		t.Error("a good token was refused")
	case checkFormToken(b, purposeForm, tok):
		t.Error("another session's token was accepted")
	case checkFormToken(a, purposeSignin, tok):
		t.Error("a form token was accepted for the sign-in form")
	case checkFormToken(a, purposeForm, ""), checkFormToken(a, purposeForm, tok[:len(tok)-1]):
		t.Error("a truncated token was accepted")
	}
}

type embeddedFields struct {
	Nickname string `json:"nickname" binding:"max=5"`
}

type level int

func (l level) MarshalJSON() ([]byte, error) { return []byte(`"level"`), nil }

type formFields struct {
	embeddedFields
	Count   uint      `json:"count"`
	Ratio   float64   `json:"ratio" binding:"lte=1"`
	Opt     *bool     `json:"opt"`
	Small   *int8     `json:"small"`
	Tags    []string  `json:"tags"`
	When    time.Time `json:"when"`
	Level   level     `json:"level"`
	Hidden  string    `json:"-"`
	Email   string    `json:"email"` // a standard name: left out
	private string
	Plain   string
}

func TestTheFormIsGeneratedFromTheFields(t *testing.T) {
	spec, err := newFormSpec[formFields](map[string]string{"field.Plain": "Plain text"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range spec.fields {
		got = append(got, f.json+":"+f.kind+":"+f.label)
	}
	want := []string{"nickname:text:Nickname", "count:number:Count", "ratio:number:Ratio", "opt:tristate:Opt", "small:number:Small",
		"tags:readonly:Tags", "when:readonly:When", "level:readonly:Level", "Plain:text:Plain text"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields = %q\nwant %q", got, want)
	}
	var f formFields
	f.Nickname, f.Count, f.Tags = "al", 3, []string{"a"}
	views := spec.views(reflect.ValueOf(&f).Elem(), nil, nil)
	if views[0].Value != "al" || views[1].Value != "3" || views[3].Value != "" || views[5].Value != `["a"]` {
		t.Errorf("views = %+v", views)
	}

	msg := func(k string, a ...any) string { return k }
	parse := func(form url.Values) (formFields, []string, map[string]string) {
		dst := f
		names, errs := spec.parse(form, reflect.ValueOf(&dst).Elem(), false, msg)
		return dst, names, errs
	}
	// Only what changed is written.
	dst, names, errs := parse(url.Values{"f.nickname": {"bob"}, "was.f.nickname": {"al"}, "f.count": {"3"}, "was.f.count": {"3"},
		"f.opt": {"false"}, "was.f.opt": {""}, "f.small": {""}, "was.f.small": {""}})
	if len(errs) != 0 || !slices.Equal(names, []string{"nickname", "opt"}) || dst.Nickname != "bob" || dst.Opt == nil || *dst.Opt {
		t.Errorf("parse = %+v %q %v", dst, names, errs)
	}
	for _, tt := range []struct {
		form  url.Values
		field string
		want  string
	}{
		{url.Values{"f.count": {"-1"}}, "count", "validation.uint"},
		{url.Values{"f.small": {"200"}}, "small", "validation.int"},
		{url.Values{"f.ratio": {"x"}}, "ratio", "validation.number"},
		{url.Values{"f.ratio": {"1.5"}}, "ratio", "validation.max"},
		{url.Values{"f.nickname": {"toolong"}}, "nickname", "validation.max_length"},
		{url.Values{"f.opt": {"perhaps"}}, "opt", "validation.bool"},
	} {
		if _, _, errs := parse(tt.form); errs[tt.field] != tt.want {
			t.Errorf("parse(%v) errors = %v, want %s: %s", tt.form, errs, tt.field, tt.want)
		}
	}
	// A check box that is not sent is false; a box of another kind that is
	// not sent is left alone.
	f.Opt = new(true)
	dst, names, _ = parse(url.Values{})
	if len(names) != 0 || dst.Opt == nil || !*dst.Opt {
		t.Errorf("parse of an empty form changed %q: %+v", names, dst)
	}
	if _, err := newFormSpec[int](nil); err == nil {
		t.Error("newFormSpec[int] did not fail")
	}
}

func TestHumanize(t *testing.T) {
	for in, want := range map[string]string{"first_name": "First name", "age": "Age", "x-y": "X y", "_": "_", "Plain": "Plain"} {
		if got := humanize(in); got != want {
			t.Errorf("humanize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestANumberBoxRefusesNaNAndInfinities: strconv.ParseFloat reads "NaN",
// "Inf" and "-Infinity", which no JSON can hold: stored, they would make
// every JSON answer about the user (GET /users/me, the API's user routes)
// fail with 500. "-Inf" even passes an upper bound such as lte=1.
func TestANumberBoxRefusesNaNAndInfinities(t *testing.T) {
	spec, err := newFormSpec[formFields](nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(k string, a ...any) string { return k }
	for _, raw := range []string{"NaN", "nan", "Inf", "+Inf", "-Inf", "-Infinity", "1e999"} {
		var dst formFields
		names, errs := spec.parse(url.Values{"f.ratio": {raw}}, reflect.ValueOf(&dst).Elem(), false, msg)
		if errs["ratio"] != "validation.number" {
			_, jerr := json.Marshal(dst)
			t.Errorf("f.ratio=%q: errors %v, wrote %q (ratio %v; its JSON: %v), want validation.number", raw, errs, names, dst.Ratio, jerr)
		}
	}
}

func TestAuditEmailCutsOnARuneBoundary(t *testing.T) {
	if got := auditEmail("arthur@camelot.bt"); got != "arthur@camelot.bt" {
		t.Fatalf("auditEmail(a short address) = %q", got)
	}
	long := "a" + strings.Repeat("é", 400) // 801 bytes: byte 320 is inside an é
	got := auditEmail(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "... (801 bytes)") || len(got) > maxAuditEmail+len("... (801 bytes)") {
		t.Fatalf("auditEmail(801 bytes) = %q", got)
	}
}

// TestFormNamesFieldsAsEncodingJSONDoes: `json:"-"` leaves a field out,
// `json:"-,"` names it "-".
func TestFormNamesFieldsAsEncodingJSONDoes(t *testing.T) {
	type dashed struct {
		Hidden string `json:"-"`
		Dash   string `json:"-,"`
	}
	spec, err := newFormSpec[dashed](nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range spec.fields {
		names = append(names, f.json)
	}
	if !slices.Equal(names, []string{"-"}) {
		t.Fatalf("form fields of %T = %q, want [\"-\"]", dashed{}, names)
	}
}
