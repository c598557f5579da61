package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

//go:embed templates
var embedded embed.FS

// pageNames are the console's pages; each is parsed with layout.html.
var pageNames = []string{"signin", "users", "user", "new", "confirm", "results", "error"}

// overlay serves the files of top, and those of base that top lacks.
type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	if o.top != nil {
		f, err := o.top.Open(name)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return o.base.Open(name)
}

func (c *console[F]) parseTemplates() error {
	base, err := fs.Sub(embedded, "templates")
	if err != nil {
		return err
	}
	files := overlay{top: c.cfg.templates, base: base}
	funcs := template.FuncMap{"msg": c.msg, "tri": newTri}
	c.pages = make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "layout.html", name+".html")
		if err != nil {
			return err
		}
		if t.Lookup("layout") == nil {
			return fmt.Errorf("%s.html: no template named \"layout\"", name)
		}
		c.pages[name] = t
	}
	if c.css, err = fs.ReadFile(files, "console.css"); err != nil {
		return err
	}
	sum := sha256.Sum256(c.css)
	c.cssTag = `"` + b64.EncodeToString(sum[:12]) + `"`
	return nil
}

// msg returns the text of key, formatted with args when there are any
// (fmt.Sprintf). An unknown key shows as itself, so that a template
// referring to a missing text is seen, not blank.
func (c *console[F]) msg(key string, args ...any) string {
	s, ok := c.msgs[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// triView is a yes/no/any filter of the list ("tri" in templates).
type triView struct{ Name, Label, Value string }

func newTri(name, label, value string) triView { return triView{name, label, value} }

// page is the data every template gets.
type page struct {
	// Base is the console's path ("/admin"), for links and form actions.
	Base string
	// Admin is the signed-in administrator; nil on the sign-in and some
	// error pages.
	Admin *adminView
	// CSRF is the form token, to send in a hidden field named "csrf" with
	// every form.
	CSRF string
	// Notice is the outcome of the previous action ("User deactivated."),
	// shown as a status message; Error an error about the whole page.
	Notice, Error string
	// Data is the page's own data (see each template).
	Data any
}

// adminView is the signed-in administrator as pages show them.
type adminView struct{ ID, Email string }

// render writes the page name with status. For a signed-in request (req
// not nil) it fills in the administrator and the form token, and a notice
// named by the "notice" query parameter (only known notices: the text is
// never taken from the request).
func (c *console[F]) render(g *gin.Context, req *request[F], status int, name string, p *page) {
	p.Base = c.base
	if req != nil {
		p.Admin = &adminView{ID: req.admin.ID, Email: req.admin.Email}
		p.CSRF = req.token
	}
	if n := g.Query("notice"); p.Notice == "" && n != "" {
		if s, ok := c.msgs["notice."+n]; ok {
			p.Notice = s
		}
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.cfg.logger.ErrorContext(g.Request.Context(), "console: template failed", "page", name, "error", err)
		g.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte(c.msg("error.internal")))
		g.Abort()
		return
	}
	g.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// errorData is the data of the error page.
type errorData struct {
	Status  int
	Message string
}

// errorPage answers status with the error page and the message of key.
func (c *console[F]) errorPage(g *gin.Context, req *request[F], status int, key string, args ...any) {
	if status == http.StatusServiceUnavailable {
		g.Header("Retry-After", strconv.Itoa(ginusers.RetryAfterUnavailable))
	}
	c.render(g, req, status, "error", &page{Data: errorData{Status: status, Message: c.msg(key, args...)}})
	g.Abort()
}

// refusal is an action the console refuses (a guard rail): 409 Conflict,
// with the message of key.
type refusal struct{ key string }

func (r *refusal) Error() string { return "console: refused: " + r.key }

// Guard rails.
var (
	errSelf      = &refusal{"refused.self"}
	errLastAdmin = &refusal{"refused.last_admin"}
	errInactive  = &refusal{"refused.inactive"}
	errChanged   = &refusal{"refused.changed"}
)

// fail answers err with the error page: 413 for a form too large, 400 for
// a malformed one, 404 for an unknown user, 409 for a refusal, 503 (with
// Retry-After) when the database or the password hashing is unavailable,
// 500 otherwise. Failures that are not the client's are logged.
func (c *console[F]) fail(g *gin.Context, req *request[F], err error) {
	var mbe *http.MaxBytesError
	var ref *refusal
	ctx := g.Request.Context()
	switch {
	case errors.As(err, &mbe):
		c.errorPage(g, req, http.StatusRequestEntityTooLarge, "error.too_large")
	case errors.Is(err, errBadForm):
		c.errorPage(g, req, http.StatusBadRequest, "error.bad_request")
	case errors.Is(err, ginusers.ErrUserNotFound):
		c.errorPage(g, req, http.StatusNotFound, "error.not_found")
	case errors.As(err, &ref):
		c.errorPage(g, req, http.StatusConflict, ref.key)
	case errors.Is(err, ginusers.ErrUnavailable), errors.Is(err, ginusers.ErrHashingBusy), errors.Is(err, context.DeadlineExceeded):
		c.cfg.logger.WarnContext(ctx, "console: unavailable", "path", g.FullPath(), "error", err)
		c.errorPage(g, req, http.StatusServiceUnavailable, "error.unavailable")
	default:
		c.cfg.logger.ErrorContext(ctx, "console: request failed", "path", g.FullPath(), "error", err)
		c.errorPage(g, req, http.StatusInternalServerError, "error.internal")
	}
}

// serveCSS serves the style sheet, revalidated by its ETag.
func (c *console[F]) serveCSS(g *gin.Context) {
	h := g.Writer.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", c.cssTag)
	h.Set("Content-Type", "text/css; charset=utf-8")
	http.ServeContent(g.Writer, g.Request, "console.css", time.Time{}, bytes.NewReader(c.css))
}
