// Package swaggerui serves Swagger UI, the interactive documentation of an
// OpenAPI document, from files embedded in the binary: no CDN, no request
// to another host, nothing to install next to the program.
//
//	doc, err := openapi.Document(m, openapi.Info{Title: "My API", Version: "1.0"}, routes...)
//	if err != nil { ... }
//	r.GET("/openapi.json", openapi.Handler(doc))
//	if err := swaggerui.Mount(r, "/docs", "/openapi.json"); err != nil { ... }
//
// The page at /docs lists every operation of the document. Its Authorize
// button logs in with the OAuth2 password flow that
// [github.com/ginusers/kit/ginusers/openapi.Document]
// describes for a bearer backend (username: the e-mail address), and "Try
// it out" then sends requests with the token. The token lives in the page
// only: it is not written to localStorage, so it is gone when the tab is
// reloaded or closed.
//
// # What is served
//
// [Mount] answers GET on the page path and on these files under it:
//
//	swagger-ui-bundle.js, swagger-ui.css, index.css, favicon-16x16.png,
//	favicon-32x32.png   Swagger UI (the swagger-ui-dist package, see below)
//	swagger-initializer.js  our start-up script: the document URL and settings
//	LICENSE, NOTICE, swagger-ui-bundle.js.LICENSE.txt  Swagger UI's licences
//
// Any other path under it is left to the router (404 by default).
//
// The page is our own index.html: no inline script and no inline style, so
// every answer carries this Content-Security-Policy, which forbids both:
//
//	default-src 'none'; script-src 'self'; style-src 'self';
//	img-src 'self' data:; connect-src 'self'; base-uri 'none';
//	form-action 'self'; frame-ancestors 'none'
//
// (img-src needs data: for the icons of Swagger UI's stylesheet.) The
// answers also carry X-Content-Type-Options: nosniff and Referrer-Policy:
// no-referrer. The page links each file with a hash of its content
// (?v=...), and a file asked for with its current hash is cached for a year
// (Cache-Control: public, max-age=31536000, immutable); every answer has an
// ETag, and the page and a file asked for without the hash are revalidated
// (no-cache). The two large files are sent gzip-compressed to clients that
// accept it (compressed once, at their first request).
//
// Because of connect-src 'self', the document and the API must be on the
// page's origin. That is also why the page is useless on its own: it
// describes the server that serves it.
//
// # Swagger UI's files
//
// The files come from the npm package swagger-ui-dist 5.35.0 (Apache-2.0,
// SmartBear Software), unchanged, in the dist directory next to this file,
// with its LICENSE, NOTICE and the bundle's third-party notices. dist/VERSION
// records the tarball's integrity hash and dist/SHA256SUMS every file's
// hash; the tests check the embedded files against it. vendor.sh, next to
// this file, vendors another version (npm pack, never npm install). The
// standalone preset (swagger-ui-standalone-preset.js, the top bar) is left
// out on purpose: it injects an inline <style>, which the policy above
// forbids.
package swaggerui
