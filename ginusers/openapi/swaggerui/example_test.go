package swaggerui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers/openapi/swaggerui"
)

func ExampleMount() {
	r := gin.New()
	// r.GET("/openapi.json", openapi.Handler(doc))
	if err := swaggerui.Mount(r, "/docs", "/openapi.json"); err != nil {
		panic(err)
	}

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Header().Get("Content-Security-Policy"))

	// A document on another origin is refused: the policy would block it.
	fmt.Println(swaggerui.Mount(r, "/other-docs", "https://api.example.com/openapi.json"))
	// Output:
	// 200 text/html; charset=utf-8
	// default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'
	// swaggerui: document URL "https://api.example.com/openapi.json": want a path on the page's origin, such as /openapi.json (the page's Content-Security-Policy allows no other origin)
}
