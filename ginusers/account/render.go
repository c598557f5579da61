package account

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed templates
var embedded embed.FS

// templateFiles are the files that [WithTemplates] may replace.
var templateFiles = []string{
	"layout.html", "sign-in.html", "sign-out.html", "register.html", "forgot-password.html",
	"reset-password.html", "verify.html", "failure.html", "account.css",
}

// failurePage is the template of the failure pages (403, 413, 500, 503).
const failurePage = "failure"

// Data is what the page templates receive.
type Data struct {
	// Page is the page asked for; the failure page gets the page where the
	// failure happened.
	Page Page
	// State says what the page shows, besides its form ("" for the form
	// alone):
	//
	//	sign-in:         "signed-in" (User is set)
	//	register:        "sent" (the "check your e-mail" page)
	//	forgot-password: "sent"
	//	reset-password:  "bad-token"
	//	verify:          "sent", "verified", "already-verified", "bad-token"
	//	failure:         "forbidden" (403), "too-large" (413),
	//	                 "unavailable" (503), "internal" (500)
	State string
	// Paths are the full paths of the pages, for links and form actions.
	Paths Paths
	// Providers are the other ways to sign in ([WithProviders]), for the
	// sign-in and register pages.
	Providers []Provider
	// CSRFToken is the form token: every form must post it in a hidden
	// field named "csrf_token".
	CSRFToken string
	// Email is the address typed in the form, to show it again (a password
	// never is).
	Email string
	// Next is, on the sign-in page, the local path to go to after signing
	// in (from the query's "next"), for a hidden field named "next".
	Next string
	// Token is, on the reset-password page, the reset token, for a hidden
	// field named "token".
	Token string
	// User is the address of the signed-in user (sign-in, sign-out).
	User string
	// Notice is a message to show above the form (sign-in: the password
	// was changed, the user signed out).
	Notice string
	// Errors are the messages of the fields ("email", "password") and of
	// the form ("form"); empty when the form is fine.
	Errors map[string]string
}

// Paths are the full paths of the pages: the router's base path and the
// page's path.
type Paths struct {
	SignIn, SignOut, Register, ForgotPassword, ResetPassword, Verify, Stylesheet string
}

// renderer renders the pages from parsed templates.
type renderer struct {
	pages map[Page]*template.Template
	css   []byte
	msgs  map[string]string
}

func newRenderer(override fs.FS, msgs map[string]string) (*renderer, error) {
	read := func(name string) ([]byte, error) {
		if override != nil {
			b, err := fs.ReadFile(override, name)
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("account: template %s: %w", name, err)
			}
		}
		return embedded.ReadFile("templates/" + name)
	}
	rd := &renderer{pages: map[Page]*template.Template{}, msgs: msgs}
	funcs := template.FuncMap{"msg": rd.msg}
	layout, err := read("layout.html")
	if err != nil {
		return nil, err
	}
	for _, p := range []Page{SignIn, SignOut, Register, ForgotPassword, ResetPassword, Verify, failurePage} {
		name := string(p) + ".html"
		text, err := read(name)
		if err != nil {
			return nil, err
		}
		t, err := template.New("layout.html").Funcs(funcs).Parse(string(layout))
		if err == nil {
			t, err = t.New(name).Parse(string(text))
		}
		if err != nil {
			return nil, fmt.Errorf("account: template %s: %w", name, err)
		}
		rd.pages[p] = t
	}
	if rd.css, err = read("account.css"); err != nil {
		return nil, err
	}
	return rd, nil
}

// msg is the template function that returns a text of the message table;
// an unknown key fails the page.
func (rd *renderer) msg(key string) (string, error) {
	v, ok := rd.msgs[key]
	if !ok {
		return "", fmt.Errorf("account: no message %q", key)
	}
	return v, nil
}

// render executes the template of page t with d, into a buffer, so that a
// failing template writes nothing.
func (rd *renderer) render(t Page, d *Data) ([]byte, error) {
	var buf bytes.Buffer
	if err := rd.pages[t].ExecuteTemplate(&buf, "layout.html", d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// contentSecurityPolicy allows no script, no plugin, no frame, no base
// change, and forms and styles from the site only.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setSecurityHeaders sets the headers every answer of the pages carries.
// No page may be cached (they carry form tokens, reset tokens, the user's
// address) or framed, and none sends a Referer (reset and verification
// tokens are in the URLs of their pages).
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// strict-origin: a Referer holds the origin alone, never the path
	// and its token; no-referrer would also make the Origin of the
	// pages' own form posts "null", which the origin check must refuse
	// where the browser sends no Sec-Fetch-Site (plain HTTP on a host
	// other than the loopback).
	h.Set("Referrer-Policy", "strict-origin")
	h.Set("Cache-Control", "no-store")
}
