package swaggerui

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.TestMode) }

// newEngine returns an engine with Swagger UI at /docs for /openapi.json.
func newEngine(t *testing.T) *gin.Engine {
	t.Helper()
	e := gin.New()
	if err := Mount(e, "/docs", "/openapi.json"); err != nil {
		t.Fatal(err)
	}
	return e
}

func get(h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func distFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(dist, "dist/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkSecurityHeaders checks the headers every answer carries, and that the
// policy lets no inline or evaluated script run.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if csp != contentSecurityPolicy {
		t.Errorf("%s: Content-Security-Policy %q, want %q", what, csp, contentSecurityPolicy)
	}
	directives := map[string]string{}
	for d := range strings.SplitSeq(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	script, ok := directives["script-src"]
	if !ok {
		t.Errorf("%s: no script-src in %q", what, csp)
	}
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'wasm-unsafe-eval'", "*", "data:", "http:", "https:"} {
		if slices.Contains(strings.Fields(script), bad) {
			t.Errorf("%s: script-src %q allows %s", what, script, bad)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("%s: the policy allows something unsafe: %q", what, csp)
	}
	if directives["default-src"] != "'none'" || directives["frame-ancestors"] != "'none'" || directives["base-uri"] != "'none'" {
		t.Errorf("%s: default-src, frame-ancestors and base-uri should be 'none': %q", what, csp)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q, want nosniff", what, got)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("%s: Referrer-Policy %q, want no-referrer", what, got)
	}
}

// TestMountServesEveryFile: the page and each file answer 200 with their
// content type, the security headers, and the vendored bytes unchanged.
func TestMountServesEveryFile(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct {
		path, contentType string
		vendored          bool
	}{
		{"/docs", "text/html; charset=utf-8", false},
		{"/docs/swagger-initializer.js", "text/javascript; charset=utf-8", false},
		{"/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", true},
		{"/docs/swagger-ui.css", "text/css; charset=utf-8", true},
		{"/docs/index.css", "text/css; charset=utf-8", true},
		{"/docs/favicon-16x16.png", "image/png", true},
		{"/docs/favicon-32x32.png", "image/png", true},
		{"/docs/LICENSE", "text/plain; charset=utf-8", true},
		{"/docs/NOTICE", "text/plain; charset=utf-8", true},
		{"/docs/swagger-ui-bundle.js.LICENSE.txt", "text/plain; charset=utf-8", true},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/docs/"), func(t *testing.T) {
			rec := get(e, tc.path)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", tc.path, rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			checkSecurityHeaders(t, tc.path, rec.Header())
			if rec.Header().Get("ETag") == "" || rec.Header().Get("Content-Encoding") != "" {
				t.Errorf("ETag %q, Content-Encoding %q: want an ETag and no encoding", rec.Header().Get("ETag"), rec.Header().Get("Content-Encoding"))
			}
			if tc.vendored && !bytes.Equal(rec.Body.Bytes(), distFile(t, strings.TrimPrefix(tc.path, "/docs/"))) {
				t.Errorf("the body is not the vendored file")
			}
		})
	}
}

var attrRE = regexp.MustCompile(`\s(src|href)="([^"]*)"`)

// TestPageIsLocalAndInlineFree: the page loads nothing from another host
// (no CDN), has no inline script, style or event handler, and every link
// it has resolves, relatively to the page, to a file that is served.
func TestPageIsLocalAndInlineFree(t *testing.T) {
	for _, tc := range []struct{ group, path, page string }{
		{"", "/docs", "/docs"},
		{"", "/api/v1/reference", "/api/v1/reference"},
		{"/api", "/docs", "/api/docs"},
	} {
		t.Run(tc.page, func(t *testing.T) {
			e := gin.New()
			if err := Mount(e.Group(tc.group), tc.path, "/openapi.json"); err != nil {
				t.Fatal(err)
			}
			rec := get(e, tc.page)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d", tc.page, rec.Code)
			}
			page := rec.Body.String()
			for _, bad := range []string{"http:", "https:", "//", "<style", "style=", " on", "javascript:", "standalone"} {
				if strings.Contains(strings.ReplaceAll(page, "<!DOCTYPE", ""), bad) {
					t.Errorf("the page contains %q:\n%s", bad, page)
				}
			}
			if n, m := strings.Count(page, "<script"), strings.Count(page, "></script>"); n != 2 || m != 2 {
				t.Errorf("want two scripts, both empty elements with a src:\n%s", page)
			}
			for _, s := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
				if !strings.Contains(s, ` src="`) {
					t.Errorf("inline script %s", s)
				}
			}
			base, _ := url.Parse("http://127.0.0.1:8000" + tc.page)
			links := attrRE.FindAllStringSubmatch(page, -1)
			if len(links) != 6 {
				t.Errorf("%d links, want 6 (2 stylesheets, 2 icons, 2 scripts)", len(links))
			}
			for _, l := range links {
				ref, err := url.Parse(l[2])
				if err != nil || ref.Scheme != "" || ref.Host != "" {
					t.Errorf("link %q is not relative", l[2])
					continue
				}
				u := base.ResolveReference(ref)
				if u.Host != "127.0.0.1:8000" || !strings.HasPrefix(u.Path, tc.page+"/") || u.Query().Get("v") == "" {
					t.Errorf("link %q resolves to %s, want %s/<file>?v=<hash>", l[2], u, tc.page)
					continue
				}
				rec := get(e, u.RequestURI())
				if rec.Code != http.StatusOK {
					t.Errorf("link %q: GET %s = %d", l[2], u.RequestURI(), rec.Code)
				}
				if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
					t.Errorf("link %q: Cache-Control %q, want a year, immutable", l[2], got)
				}
			}
		})
	}
}

// TestUnknownFileIsNotFound: only the listed files are served; the rest of
// the package (the standalone preset, the source maps) and any other path
// under the page go to the router's 404.
func TestUnknownFileIsNotFound(t *testing.T) {
	e := newEngine(t)
	for _, p := range []string{
		"/docs/nope.js",
		"/docs/swagger-ui-standalone-preset.js",
		"/docs/swagger-ui.css.map",
		"/docs/index.html",
		"/docs/SHA256SUMS",
		"/docs/VERSION",
		"/docs/dist/swagger-ui.css",
		"/docs/../docs/swagger-ui.css/x",
		"/docsx",
	} {
		if rec := get(e, p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
	}
	// With the trailing slash Gin redirects to the page (its links are
	// relative to /docs, not /docs/).
	if rec := get(e, "/docs/"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/docs" {
		t.Errorf("GET /docs/ = %d to %q, want 301 to /docs", rec.Code, rec.Header().Get("Location"))
	}
}

// TestInitializerSettings: the start-up script has the settings we rely on:
// no standalone preset, no validator badge, no token in localStorage.
func TestInitializerSettings(t *testing.T) {
	js := get(newEngine(t), "/docs/swagger-initializer.js").Body.String()
	for _, want := range []string{
		`url: "/openapi.json",`,
		`dom_id: "#swagger-ui",`,
		`presets: [SwaggerUIBundle.presets.apis],`,
		`layout: "BaseLayout",`,
		`validatorUrl: null,`,
		`persistAuthorization: false`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("the initializer lacks %q:\n%s", want, js)
		}
	}
	for _, bad := range []string{"StandalonePreset", "StandaloneLayout", "localStorage.", "persistAuthorization: true", "http:", "https:", "eval(", "DOC_URL"} {
		if strings.Contains(js, bad) {
			t.Errorf("the initializer contains %q", bad)
		}
	}
}

// TestInitializerEncodesDocURL: the document URL is written as a JSON
// string, so no URL can end the string (or a <script> element, were the
// script ever inlined) and run code of its own.
func TestInitializerEncodesDocURL(t *testing.T) {
	for _, docURL := range []string{
		"/openapi.json",
		"openapi.json?x=1&y=2",
		`/a"b`,
		`/x", url: "/evil.json`,
		"/x'+alert(1)+'",
		"/x</script><script>alert(1)</script>",
		"/\u2028\u2029.json",
		"/${alert(1)}`.json",
	} {
		t.Run(docURL, func(t *testing.T) {
			e := gin.New()
			if err := Mount(e, "/docs", docURL); err != nil {
				t.Fatal(err)
			}
			js := get(e, "/docs/swagger-initializer.js").Body.String()
			var line string
			sc := bufio.NewScanner(strings.NewReader(js))
			for sc.Scan() {
				if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "url: ") {
					if line != "" {
						t.Fatalf("two url lines:\n%s", js)
					}
					line = l
				}
			}
			lit, ok := strings.CutSuffix(strings.TrimPrefix(line, "url: "), ",")
			if !ok {
				t.Fatalf("no `url: ...,` line:\n%s", js)
			}
			var got string
			if err := json.Unmarshal([]byte(lit), &got); err != nil || got != docURL {
				t.Fatalf("url literal %s decodes to %q (%v), want %q", lit, got, err, docURL)
			}
			// A JSON string is a JavaScript string literal when it has no raw
			// line terminators, and json.Marshal escapes <, > and & as well.
			if strings.ContainsAny(lit, "<>&\u2028\u2029\n\r") {
				t.Errorf("literal %s has a character to escape", lit)
			}
			if strings.Count(js, "SwaggerUIBundle(") != 1 || strings.Count(js, "\n") != strings.Count(initializerTemplate, "\n") {
				t.Errorf("the URL changed the script:\n%s", js)
			}
		})
	}
}

// TestMountRefuses: a path Mount could not link and a document on another
// origin (which the policy would block) are errors, and nothing is mounted.
func TestMountRefuses(t *testing.T) {
	for _, tc := range []struct{ path, docURL string }{
		{"", "/openapi.json"},
		{"docs", "/openapi.json"},
		{"/", "/openapi.json"},
		{"/docs/", "/openapi.json"},
		{"/docs/:id", "/openapi.json"},
		{"/docs/*any", "/openapi.json"},
		{"/do%63s", "/openapi.json"},
		{"/a//docs", "/openapi.json"},
		{"/a/../docs", "/openapi.json"},
		{"/docs", ""},
		{"/docs", "https://api.example.com/openapi.json"},
		{"/docs", "http://127.0.0.1:8000/openapi.json"},
		{"/docs", "//cdn.example.com/openapi.json"},
		{"/docs", `/\cdn.example.com/openapi.json`},
		{"/docs", "javascript:alert(1)"},
		{"/docs", "data:application/json,{}"},
		{"/docs", "/open\napi.json"},
		{"/docs", "/open\tapi.json"},
	} {
		e := gin.New()
		if err := Mount(e, tc.path, tc.docURL); err == nil || !strings.HasPrefix(err.Error(), "swaggerui: ") {
			t.Errorf("Mount(%q, %q) = %v, want a swaggerui error", tc.path, tc.docURL, err)
		}
		if n := len(e.Routes()); n != 0 {
			t.Errorf("Mount(%q, %q) mounted %d routes", tc.path, tc.docURL, n)
		}
	}
}

// TestCaching: a file asked for with its current hash is cached for a year;
// without it, or with an old hash, and for the page, the browser
// revalidates, and a matching ETag answers 304.
func TestCaching(t *testing.T) {
	e := newEngine(t)
	init := get(e, "/docs/swagger-initializer.js")
	sum := sha256.Sum256(init.Body.Bytes())
	v := hex.EncodeToString(sum[:8])
	for _, tc := range []struct{ target, cache string }{
		{"/docs/swagger-initializer.js?v=" + v, "public, max-age=31536000, immutable"},
		{"/docs/swagger-initializer.js", "no-cache"},
		{"/docs/swagger-initializer.js?v=0123456789abcdef", "no-cache"},
		{"/docs", "no-cache"},
	} {
		rec := get(e, tc.target)
		if got := rec.Header().Get("Cache-Control"); got != tc.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", tc.target, got, tc.cache)
		}
		etag := rec.Header().Get("ETag")
		again := get(e, tc.target, "If-None-Match", etag)
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("GET %s with If-None-Match %s = %d, want 304", tc.target, etag, again.Code)
		}
		checkSecurityHeaders(t, tc.target+" (304)", again.Header())
	}
	if !strings.Contains(get(e, "/docs").Body.String(), "docs/swagger-initializer.js?v="+v) {
		t.Errorf("the page does not link the initializer by its hash %s", v)
	}
}

// TestGzip: the bundle and the stylesheet go compressed to a client that
// accepts gzip, with their own ETag, and as they are to any other.
func TestGzip(t *testing.T) {
	e := newEngine(t)
	for _, name := range []string{"swagger-ui-bundle.js", "swagger-ui.css"} {
		want := distFile(t, name)
		rec := get(e, "/docs/"+name, "Accept-Encoding", "br, gzip")
		if rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("%s: Content-Encoding %q, Vary %q", name, rec.Header().Get("Content-Encoding"), rec.Header().Get("Vary"))
		}
		t.Logf("%s: %d bytes, %d gzipped", name, len(want), rec.Body.Len())
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: gunzipped body differs from the file (%v)", name, err)
		}
		plain := get(e, "/docs/"+name, "Accept-Encoding", "gzip;q=0, identity")
		if plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), want) {
			t.Errorf("%s with gzip;q=0: Content-Encoding %q", name, plain.Header().Get("Content-Encoding"))
		}
		if plain.Header().Get("ETag") == rec.Header().Get("ETag") {
			t.Errorf("%s: the compressed and plain bodies share the ETag %s", name, plain.Header().Get("ETag"))
		}
	}
	if rec := get(e, "/docs/favicon-32x32.png", "Accept-Encoding", "gzip"); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("a PNG was compressed")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"deflate, gzip, br"}, true},
		{[]string{"br", "gzip"}, true},
		{[]string{"gzip;q=0.5"}, true},
		{[]string{"gzip; q=1.0"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip;q=0.000"}, false},
		{[]string{"gzip;q=x"}, false},
		{[]string{"x-gzip"}, false},
		{[]string{"gzipped"}, false},
		{[]string{"*"}, false},
		{[]string{"identity"}, false},
	} {
		if got := acceptsGzip(tc.values); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}

// TestVendoredFiles: the embedded files are those vendor.sh copied from
// swagger-ui-dist 5.35.0 (dist/SHA256SUMS), the licences included, and
// nothing else; every one of them is served.
func TestVendoredFiles(t *testing.T) {
	version := string(distFile(t, "VERSION"))
	if !strings.HasPrefix(version, "swagger-ui-dist 5.35.0\n") || !strings.Contains(version, "integrity sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==") {
		t.Errorf("dist/VERSION:\n%s", version)
	}
	sums := map[string]string{}
	for line := range strings.Lines(string(distFile(t, "SHA256SUMS"))) {
		sum, name, ok := strings.Cut(strings.TrimSpace(line), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		sums[name] = sum
	}
	entries, err := fs.ReadDir(dist, "dist")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() == "VERSION" || e.Name() == "SHA256SUMS" {
			continue
		}
		names = append(names, e.Name())
		sum := sha256.Sum256(distFile(t, e.Name()))
		if got := hex.EncodeToString(sum[:]); sums[e.Name()] != got {
			t.Errorf("dist/%s: sha256 %s, SHA256SUMS says %q", e.Name(), got, sums[e.Name()])
		}
	}
	var served []string
	for _, v := range vendored {
		served = append(served, v.name)
	}
	slices.Sort(names)
	slices.Sort(served)
	if !slices.Equal(names, served) || len(sums) != len(names) {
		t.Errorf("dist holds %q, SHA256SUMS lists %d files, the package serves %q", names, len(sums), served)
	}
	for _, lic := range []string{"LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"} {
		if !slices.Contains(names, lic) {
			t.Errorf("the licence file %s is not vendored", lic)
		}
	}
	if !strings.Contains(string(distFile(t, "NOTICE")), "SmartBear") || !strings.Contains(string(distFile(t, "LICENSE")), "Apache License") {
		t.Errorf("unexpected LICENSE or NOTICE")
	}
}

// TestMountTwice: two mounts (two documents) are independent.
func TestMountTwice(t *testing.T) {
	e := gin.New()
	if err := Mount(e, "/docs", "/openapi.json"); err != nil {
		t.Fatal(err)
	}
	if err := Mount(e, "/admin/docs", "/admin/openapi.json"); err != nil {
		t.Fatal(err)
	}
	a := get(e, "/docs/swagger-initializer.js").Body.String()
	b := get(e, "/admin/docs/swagger-initializer.js").Body.String()
	if !strings.Contains(a, `"/openapi.json"`) || !strings.Contains(b, `"/admin/openapi.json"`) {
		t.Errorf("initializers:\n%s\n%s", a, b)
	}
}

// FuzzAcceptsGzip: the Accept-Encoding parser (untrusted input) never
// panics, and says yes only to a header that names gzip.
func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "br;q=1, gzip;q=0.5", "*;q=0", ";;,,=", "gzip;q=", "gzip;q=1e309"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if acceptsGzip([]string{h}) && !strings.Contains(strings.ToLower(h), "gzip") {
			t.Errorf("acceptsGzip(%q) = true", h)
		}
	})
}
