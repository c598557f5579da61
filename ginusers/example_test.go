package ginusers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

// Profile is an application's own user fields.
type Profile struct {
	FirstName *string `json:"first_name" bson:"first_name,omitempty" binding:"omitempty,max=100"`
}

func ExampleRoutes() {
	// A store: mongostore.New[Profile](collection) in a real application.
	store := storetest.NewMemStore[Profile]()
	m, err := ginusers.New(store, ginusers.WithSecret([]byte("a secret of at least 32 random bytes!!")))
	if err != nil {
		panic(err)
	}
	r := gin.New()
	ginusers.Routes(r, m) // /auth/jwt/login, /auth/register, /users/me, ...
	r.GET("/hello", m.WithUser(func(c *gin.Context, u *ginusers.User[Profile]) {
		c.String(http.StatusOK, "Hello %s!", *u.Fields.FirstName)
	}))

	do := func(method, path, contentType, body, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	w := do("POST", "/auth/register", "application/json", `{"email": "king.arthur@camelot.bt", "password": "guinevere", "first_name": "Arthur"}`, "")
	fmt.Println("register:", w.Code)
	w = do("POST", "/auth/jwt/login", "application/x-www-form-urlencoded", url.Values{"username": {"king.arthur@camelot.bt"}, "password": {"guinevere"}}.Encode(), "")
	token := w.Body.String()[len(`{"access_token":"`):]
	token = token[:strings.IndexByte(token, '"')]
	fmt.Println("login:", w.Code)
	w = do("GET", "/hello", "", "", token)
	fmt.Println("hello:", w.Code, w.Body.String())
	w = do("GET", "/hello", "", "", "forged")
	fmt.Println("forged:", w.Code, w.Body.String())
	// Output:
	// register: 201
	// login: 200
	// hello: 200 Hello Arthur!
	// forged: 401 {"detail":"Unauthorized"}
}

func ExampleRequireUser() {
	m, _ := ginusers.New(storetest.NewMemStore[ginusers.NoFields](), ginusers.WithSecret([]byte("a secret of at least 32 random bytes!!")))
	r := gin.New()
	admin := r.Group("/admin", ginusers.RequireUser(m, ginusers.Superuser))
	admin.GET("/stats", func(c *gin.Context) { c.String(http.StatusOK, "secret stats") })

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/admin/stats", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 401 Bearer
}

func ExampleManager_Register() {
	m, _ := ginusers.New(storetest.NewMemStore[ginusers.NoFields](),
		ginusers.WithSecret([]byte("a secret of at least 32 random bytes!!")),
		ginusers.OnAfterRegister(func(ctx context.Context, u *ginusers.User[ginusers.NoFields]) error {
			fmt.Println("welcome,", u.Email)
			return nil
		}),
	)
	ctx := context.Background()
	u, err := m.Register(ctx, ginusers.UserCreate[ginusers.NoFields]{Email: "Lancelot@CAMELOT.bt", Password: "guinevere"})
	fmt.Println(u.Email, u.Active, u.Superuser, u.Verified, err)
	_, err = m.Register(ctx, ginusers.UserCreate[ginusers.NoFields]{Email: "lancelot@camelot.bt", Password: "guinevere"})
	fmt.Println(err)
	_, err = m.Authenticate(ctx, "LANCELOT@camelot.bt", "wrong password")
	fmt.Println(err)
	// Output:
	// welcome, Lancelot@camelot.bt
	// Lancelot@camelot.bt true false false <nil>
	// ginusers: user already exists
	// ginusers: invalid credentials
}
