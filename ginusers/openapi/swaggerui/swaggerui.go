package swaggerui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// dist holds Swagger UI's files, as vendor.sh copied them.
//
//go:embed dist
var dist embed.FS

//go:embed index.html
var pageTemplate string

//go:embed swagger-initializer.js
var initializerTemplate string

// contentSecurityPolicy is sent with every answer: scripts and styles only
// from files of this origin (no inline code, no eval), images from this
// origin and data: URLs (the icons of swagger-ui.css), requests only to this
// origin, and no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// vendored lists the files of dist that are served, with their content types;
// gzip marks those worth compressing.
var vendored = []struct {
	name, contentType string
	gzip              bool
}{
	{"swagger-ui-bundle.js", "text/javascript; charset=utf-8", true},
	{"swagger-ui.css", "text/css; charset=utf-8", true},
	{"index.css", "text/css; charset=utf-8", false},
	{"favicon-16x16.png", "image/png", false},
	{"favicon-32x32.png", "image/png", false},
	{"LICENSE", "text/plain; charset=utf-8", false},
	{"NOTICE", "text/plain; charset=utf-8", false},
	{"swagger-ui-bundle.js.LICENSE.txt", "text/plain; charset=utf-8", false},
}

// initializerName is the name of our start-up script.
const initializerName = "swagger-initializer.js"

// asset is one file served under the page path.
type asset struct {
	name, contentType string
	body              []byte
	version           string // a hash of body, for the ?v= of the links
	etag              string
	compress          bool
	gzipOnce          sync.Once
	gzipped           []byte // body compressed, at the first request that accepts it
}

func newAsset(name, contentType string, body []byte, compress bool) *asset {
	sum := sha256.Sum256(body)
	v := hex.EncodeToString(sum[:8])
	return &asset{name: name, contentType: contentType, body: body, version: v, etag: `"` + v + `"`, compress: compress}
}

// vendoredAssets reads Swagger UI's files once for every Mount; it cannot
// fail unless the embedded files are broken, which the tests rule out.
var vendoredAssets = sync.OnceValues(func() ([]*asset, error) {
	var as []*asset
	for _, f := range vendored {
		b, err := dist.ReadFile("dist/" + f.name)
		if err != nil {
			return nil, err
		}
		as = append(as, newAsset(f.name, f.contentType, b, f.gzip))
	}
	return as, nil
})

// Mount serves Swagger UI for the OpenAPI document at docURL: the page at
// GET path and its files at GET path/<file> (listed in the package
// documentation), on r, which may be an engine or a group. It is safe to
// mount it more than once.
//
// path is the page's path relative to r, such as "/docs": it starts with a
// slash, does not end with one, and has no parameters (":" or "*"). The page
// links its files relatively to its own URL, so it also works under a group
// or behind a proxy that strips a prefix.
//
// docURL is where the browser fetches the document: an absolute path such
// as "/openapi.json" (recommended), or a path relative to the page. It must
// be on the page's origin, since the Content-Security-Policy allows no
// other, so a URL with a scheme or a host is refused.
//
// Mount returns an error, and mounts nothing, when path or docURL is not as
// described. Gin panics, as for any route, if a route of the same path is
// already there.
func Mount(r gin.IRouter, path, docURL string) error {
	if err := checkPath(path); err != nil {
		return err
	}
	if err := checkDocURL(docURL); err != nil {
		return err
	}
	assets, err := vendoredAssets()
	if err != nil {
		return fmt.Errorf("swaggerui: embedded files: %w", err)
	}
	script, err := initializer(docURL)
	if err != nil {
		return err
	}
	assets = append(assets[:len(assets):len(assets)], newAsset(initializerName, "text/javascript; charset=utf-8", script, false))
	page, err := renderPage(path[strings.LastIndexByte(path, '/')+1:], assets)
	if err != nil {
		return err
	}
	r.GET(path, servePage(page))
	for _, a := range assets {
		r.GET(path+"/"+a.name, a.serve)
	}
	return nil
}

// checkPath refuses a page path that Mount cannot serve or link.
func checkPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
		return fmt.Errorf("swaggerui: path %q: want a path such as /docs, starting with a slash and not ending with one", p)
	case strings.ContainsAny(p, ":*?#%\\") || path.Clean(p) != p:
		return fmt.Errorf("swaggerui: path %q: want a plain path, without parameters, escapes, dot segments or double slashes", p)
	}
	return nil
}

// checkDocURL refuses a document URL on another origin, and one that a
// browser would read otherwise than url.Parse does.
func checkDocURL(docURL string) error {
	if docURL == "" {
		return errors.New("swaggerui: the document URL is empty")
	}
	// Browsers read a backslash as a slash, so /\host is another host.
	if strings.ContainsAny(docURL, "\\") {
		return fmt.Errorf("swaggerui: document URL %q has a backslash", docURL)
	}
	u, err := url.Parse(docURL)
	if err != nil {
		return fmt.Errorf("swaggerui: document URL: %w", err)
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(docURL, "//") {
		return fmt.Errorf("swaggerui: document URL %q: want a path on the page's origin, such as /openapi.json (the page's Content-Security-Policy allows no other origin)", docURL)
	}
	return nil
}

// initializer returns our start-up script for the document at docURL,
// which it writes as a JSON string (so quotes, backslashes, </script> or
// line separators in it stay inside the string).
func initializer(docURL string) ([]byte, error) {
	u, err := json.Marshal(docURL)
	if err != nil {
		return nil, err
	}
	const marker = "DOC_URL"
	if strings.Count(initializerTemplate, marker) != 1 {
		return nil, errors.New("swaggerui: the initializer template must name DOC_URL once")
	}
	return []byte(strings.Replace(initializerTemplate, marker, string(u), 1)), nil
}

// renderPage writes the page, whose links are relative to its own URL: base
// is the last segment of its path, so "docs/swagger-ui.css?v=..." from
// /docs.
func renderPage(base string, assets []*asset) ([]byte, error) {
	t, err := template.New("index.html").Parse(pageTemplate)
	if err != nil {
		return nil, err
	}
	href := map[string]string{}
	for _, a := range assets {
		href[a.name] = base + "/" + a.name + "?v=" + a.version
	}
	var b bytes.Buffer
	if err := t.Execute(&b, href); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// setSecurityHeaders sets the headers of every answer.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// servePage answers with the page, revalidated at every load so that a new
// version of the files is picked up at once.
func servePage(page []byte) gin.HandlerFunc {
	sum := sha256.Sum256(page)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return func(c *gin.Context) {
		h := c.Writer.Header()
		setSecurityHeaders(h)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", etag)
		http.ServeContent(c.Writer, c.Request, "index.html", time.Time{}, bytes.NewReader(page))
	}
}

// serve answers with the file: cached for a year when asked for with its
// current hash (?v=), revalidated otherwise; compressed when it is worth it
// and the client accepts gzip.
func (a *asset) serve(c *gin.Context) {
	h := c.Writer.Header()
	setSecurityHeaders(h)
	h.Set("Content-Type", a.contentType)
	if c.Query("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body, etag := a.body, a.etag
	if a.compress {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(c.Request.Header.Values("Accept-Encoding")) {
			a.gzipOnce.Do(func() { a.gzipped = compress(a.body) })
			body, etag = a.gzipped, `"`+a.version+`-gzip"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(c.Writer, c.Request, a.name, time.Time{}, bytes.NewReader(body))
}

func compress(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	_, _ = zw.Write(b)                                       // a bytes.Buffer does not fail
	_ = zw.Close()
	return buf.Bytes()
}

// acceptsGzip reports whether Accept-Encoding values accept gzip: the token
// gzip (any case) with no q or a q above 0. "*" is not taken as gzip, so a
// client that names no encoding gets the identity it can always read.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					q, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					return err == nil && q > 0
				}
			}
			return true
		}
	}
	return false
}
