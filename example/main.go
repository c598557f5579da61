// Command example serves fastapi-users' "full example" with ginusers: the
// auth, register and users routes, plus GET /authenticated-route, and the
// superuser console at /admin (sign in as ADMIN_EMAIL), on MongoDB
// or, when MONGODB_URI is unset, on an embedded FerretDB whose files live in
// DATA_DIR. The account pages (package account: /sign-in, /sign-out,
// /register, /forgot-password, /reset-password, /verify) answer the links
// of the verification and reset e-mails, in a browser, without JavaScript.
// GET /health answers 200 {"status": "ok", "database": "up"}, or
// 503 {"status": "unavailable", "database": "down"} when the database does
// not answer a ping within MONGODB_TIMEOUT.
//
// Routes besides the API's (listed in README.md):
//
//	GET /openapi.json   the OpenAPI 3.1 document of every route above
//	GET /docs           Swagger UI for it: Authorize logs in with the
//	                    password flow (e-mail and password), then "Try it
//	                    out" calls the API; its files are under /docs/
//	GET /health         the database's state (no token needed)
//
// Environment:
//
//	ADDR            listen address (default 127.0.0.1:8000)
//	MONGODB_URI     MongoDB to use; unset: embedded FerretDB
//	MONGODB_DATABASE database name (default ginusers)
//	MONGODB_TIMEOUT how long a request waits for an unreachable database
//	                before it fails with 503 and Retry-After, as a Go
//	                duration (default 2s); see GET /health
//	DATA_DIR        embedded database files (default ./data)
//	SECRET          token signing secret, at least 32 bytes (also the
//	                key of the account pages' form tokens)
//	                (unset: random per start, tokens die on restart)
//	ADMIN_EMAIL     with ADMIN_PASSWORD: when no account has this address,
//	ADMIN_PASSWORD  create it at start as an active, verified superuser;
//	                an existing account is never changed (a warning is
//	                logged if it is not a superuser)
//	PUBLIC_URL      base of the links in e-mails (default http://ADDR)
//	SMTP_HOST       with SMTP_PORT: send verification and reset e-mails
//	SMTP_PORT       through this server (STARTTLS when offered); unset:
//	                the messages are logged instead
//	SMTP_FROM       sender address (default noreply@SMTP_HOST)
//	SMTP_USERNAME   with SMTP_PASSWORD: authenticate (needs TLS unless
//	SMTP_PASSWORD   the server is on localhost)
//	COOKIE_INSECURE set to 1 to drop Secure from the auth cookie and the
//	                account pages' form cookie (and Secure and the __Host-
//	                prefix from the console's), for plain-HTTP development
//	                in browsers that require it
//	REDIS_URL       also serve a bearer backend with Redis tokens at
//	                /auth/redis (redis://host:port/db)
//	OIDC_ISSUER     with OIDC_CLIENT_ID and OIDC_CLIENT_SECRET: sign in
//	OIDC_CLIENT_ID  with this OpenID provider (found by discovery) at
//	OIDC_CLIENT_SECRET /auth/oidc (bearer), /auth/oidc-cookie (cookie) and
//	                /auth/associate/oidc; register PUBLIC_URL followed by
//	                each .../callback path at the provider (example/oauth.go)
//	OIDC_REDIRECTS  comma-separated targets the cookie sign-in may redirect
//	                to after signing in (?redirect=...), matched exactly
//
// Try it:
//
//	go run ./example
//	curl -s -X POST localhost:8000/auth/register -H 'Content-Type: application/json' \
//	     -d '{"email": "king.arthur@camelot.bt", "password": "guinevere", "first_name": "Arthur"}'
//	curl -s -X POST localhost:8000/auth/jwt/login -d 'username=king.arthur@camelot.bt&password=guinevere'
//	curl -s localhost:8000/users/me -H "Authorization: Bearer $TOKEN"
//
// or open http://127.0.0.1:8000/docs (the API) or http://127.0.0.1:8000/register (the
// account pages) in a browser.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/mail"
	"github.com/ginusers/kit/ginusers/openapi"
	"github.com/ginusers/kit/ginusers/openapi/swaggerui"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/embedded"
	"github.com/ginusers/kit/redisstore"
)

// Profile holds the example's own user fields, optional strings as in
// fastapi-users' documentation.
type Profile struct {
	FirstName *string `json:"first_name" bson:"first_name,omitempty" binding:"omitempty,max=100"`
	LastName  *string `json:"last_name" bson:"last_name,omitempty" binding:"omitempty,max=100"`
}

// User is the example's user type.
type User = ginusers.User[Profile]

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, logger, defaultLimits(), nil); err != nil {
		logger.Error("example stopped", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, with the connection limits lim. When ready is
// not nil it receives the address listened on.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, lim limits, ready chan<- string) error {
	app, err := newApp(ctx, getenv, logger)
	if err != nil {
		return err
	}
	defer app.close()

	ln, err := net.Listen("tcp", listenAddr(getenv))
	if err != nil {
		return err
	}
	srv := newServer(app.engine, lim)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("serving", "addr", "http://"+ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	// E-mails still being sent get a few seconds, then are abandoned.
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelDrain()
	if err := app.manager.Shutdown(drainCtx); err != nil {
		logger.Warn("e-mails still queued at shutdown were dropped", "error", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// limits bounds what one connection can cost the server: how long it may
// take to send its request, to read its response and to sit idle, and how
// large its headers may be. Without them a client that trickles its body a
// byte at a time, or keeps a connection open doing nothing, holds a socket
// and a goroutine forever.
type limits struct {
	readHeader     time.Duration // request line and headers
	read           time.Duration // the whole request, body included
	write          time.Duration // from the end of the headers to the end of the response
	idle           time.Duration // between two requests on a keep-alive connection
	maxHeaderBytes int           // request line and headers; more is 431
}

// defaultLimits are the example's limits, chosen for an API whose requests
// and responses are small:
//
//   - 5 s for the request line and headers, which fit in a packet or two:
//     plenty for a slow mobile link, and a slowloris client is dropped fast.
//   - 15 s for the whole request. Bodies are a few hundred bytes of JSON or
//     form (ginusers refuses more than 1 MiB with 413); any working link
//     sends them in well under a second, so 15 s only ever cuts off clients
//     that trickle.
//   - 30 s to answer, counted from the end of the headers, so it includes
//     the handler: a login may wait for a free password-hashing slot
//     (argon2id, bounded concurrency) when many arrive at once. A client
//     that does not read its response is cut off after that.
//   - 60 s idle between requests: clients reuse a connection within
//     seconds, and an idle one costs a socket and a goroutine (nginx keeps
//     75 s).
//   - 64 KiB of headers instead of net/http's 1 MiB: a bearer token is
//     under 1 KiB and a browser's cookies for one site under a few KiB, so
//     this leaves room for proxies and other cookies on the domain while a
//     connection's header buffer costs 16 times less. net/http lets 4 KiB
//     more through before answering 431.
func defaultLimits() limits {
	return limits{
		readHeader:     5 * time.Second,
		read:           15 * time.Second,
		write:          30 * time.Second,
		idle:           60 * time.Second,
		maxHeaderBytes: 64 << 10,
	}
}

// newServer returns the HTTP server of the example, with the limits lim.
func newServer(h http.Handler, lim limits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.readHeader,
		ReadTimeout:       lim.read,
		WriteTimeout:      lim.write,
		IdleTimeout:       lim.idle,
		MaxHeaderBytes:    lim.maxHeaderBytes,
	}
}

// app is the example application, its engine and what it must close.
type app struct {
	engine  *gin.Engine
	manager *ginusers.Manager[Profile]
	routes  []ginusers.Route // the routes mounted, documented
	doc     openapi.Doc      // their OpenAPI document, served at /openapi.json
	closers []func()
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

func newApp(ctx context.Context, getenv func(string) string, logger *slog.Logger) (a *app, err error) {
	a = &app{}
	// The app, not the named result: a failed start returns nil.
	defer func(started *app) {
		if err != nil {
			started.close()
		}
	}(a)
	timeout, err := mongoTimeout(getenv)
	if err != nil {
		return nil, err
	}
	// Start-up work may take longer than MONGODB_TIMEOUT, which bounds requests.
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()

	uri := getenv("MONGODB_URI")
	if uri == "" {
		dir := getenv("DATA_DIR")
		if dir == "" {
			dir = "data"
		}
		srv, err := embedded.Start(ctx, embedded.WithDir(dir))
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, func() { _ = srv.Stop() })
		uri = srv.URI()
		logger.Info("using embedded FerretDB", "dir", dir, "uri", uri)
	}
	client, err := mongo.Connect(mongoClientOptions(uri, timeout))
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(c)
	})
	pingCtx, cancelPing := context.WithTimeout(ctx, 20*time.Second)
	defer cancelPing()
	if err := pingUntil(pingCtx, client); err != nil {
		return nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	dbName := getenv("MONGODB_DATABASE")
	if dbName == "" {
		dbName = "ginusers"
	}
	store := mongostore.New[Profile](client.Database(dbName).Collection("users"))
	if err := store.EnsureIndexes(ctx); err != nil {
		return nil, err
	}

	secret := []byte(getenv("SECRET"))
	if len(secret) == 0 {
		secret = []byte(rand.Text() + rand.Text())
		logger.Warn("SECRET is not set: using a random secret, so tokens stop working when the example restarts")
	}
	sender, err := newSender(getenv, logger)
	if err != nil {
		return nil, err
	}
	publicURL := getenv("PUBLIC_URL")
	if publicURL == "" {
		publicURL = "http://" + listenAddr(getenv)
	}
	verifyHook, err := mail.VerifyHook[Profile](sender, publicURL)
	if err != nil {
		return nil, fmt.Errorf("PUBLIC_URL: %w", err)
	}
	resetHook, err := mail.ResetHook[Profile](sender, publicURL)
	if err != nil {
		return nil, fmt.Errorf("PUBLIC_URL: %w", err)
	}
	backends, err := newBackends(ctx, a, client.Database(dbName), secret, getenv, logger)
	if err != nil {
		return nil, err
	}
	m, err := ginusers.New(store,
		ginusers.WithSecret(secret),
		ginusers.WithBackends(backends...),
		ginusers.WithLogger(logger),
		ginusers.WithPasswordValidator(validatePassword),
		ginusers.OnAfterRequestVerify(verifyHook),
		ginusers.OnAfterForgotPassword(resetHook),
		ginusers.OnAfterRegister(func(ctx context.Context, u *User) error {
			logger.InfoContext(ctx, "user has registered", "user_id", u.ID)
			return nil
		}),
	)
	if err != nil {
		return nil, err
	}
	a.manager = m
	if err := ensureAdmin(ctx, m, logger, getenv("ADMIN_EMAIL"), getenv("ADMIN_PASSWORD")); err != nil {
		return nil, fmt.Errorf("admin user: %w", err)
	}

	if getenv("GIN_MODE") == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	e := gin.New()
	e.Use(gin.Recovery())
	// No proxy in front by default: do not trust X-Forwarded-For.
	if err := e.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	ginusers.ConfigureEngine(e) // FastAPI's 404 and 405 answers
	a.routes = ginusers.Routes(e, m)
	oauthRoutes, providers, err := mountOAuth(ctx, e, m, publicURL, getenv, logger) // example/oauth.go
	if err != nil {
		return nil, err
	}
	a.routes = append(a.routes, oauthRoutes...)
	// The example's own route, with the same helpers: authenticated and
	// documented like the built-in ones.
	a.routes = append(a.routes, ginusers.Mount(e, m, ginusers.Route{
		Name: "authenticated_route", Method: http.MethodGet, Path: "/authenticated-route", Tag: "example",
		Summary: "Greet the current user", Auth: &ginusers.Auth{},
		Success: http.StatusOK, Response: &ginusers.Body{Type: reflect.TypeFor[greeting]()},
		Handle: func(c *gin.Context) error {
			u, _ := m.CurrentUser(c)
			c.JSON(http.StatusOK, greeting{Message: fmt.Sprintf("Hello %s!", u.Email)})
			return nil
		},
	})...)
	doc, err := openapi.Document(m, openapi.Info{
		Title: "ginusers example", Version: "1.0",
		Description: "fastapi-users' full example, served by ginusers.",
	}, a.routes...)
	if err != nil {
		return nil, err
	}
	a.doc = doc
	e.GET("/openapi.json", openapi.Handler(doc))
	// Swagger UI for that document: log in with Authorize (the password
	// flow of the bearer backend) and try every route from the browser.
	if err := swaggerui.Mount(e, "/docs", "/openapi.json"); err != nil {
		return nil, err
	}
	e.GET("/health", health(client, timeout, logger))
	if err := mountAccount(e, m, secret, providers, getenv); err != nil {
		return nil, err
	}
	if err := mountConsole(ctx, a, e, m, client.Database(dbName), getenv, logger); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	a.engine = e
	return a, nil
}

// greeting is the body of GET /authenticated-route.
type greeting struct {
	Message string `json:"message"`
}

// newBackends returns the example's backends, tried in this order: bearer
// JWT at /auth/jwt (fastapi-users' full example), a cookie with database
// tokens at /auth/cookie, and with REDIS_URL a bearer with Redis tokens at
// /auth/redis.
func newBackends(ctx context.Context, a *app, db *mongo.Database, secret []byte, getenv func(string) string, logger *slog.Logger) ([]*ginusers.Backend, error) {
	jwtStrategy, err := ginusers.NewJWTStrategy(secret)
	if err != nil {
		return nil, err
	}
	tokens := mongostore.NewTokenStore(db.Collection("access_tokens"))
	if err := tokens.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	dbStrategy, err := ginusers.NewDatabaseStrategy(tokens)
	if err != nil {
		return nil, err
	}
	var cookieOpts []ginusers.CookieOption
	if getenv("COOKIE_INSECURE") == "1" {
		cookieOpts = append(cookieOpts, ginusers.WithInsecureCookie())
	}
	cookie, err := ginusers.NewCookieTransport(cookieOpts...)
	if err != nil {
		return nil, err
	}
	backends := []*ginusers.Backend{
		ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), jwtStrategy),
		ginusers.NewBackend("cookie", cookie, dbStrategy),
	}
	if !tokens.HasTTLIndex() {
		// FerretDB cannot expire documents: purge expired tokens now and then.
		purgeCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(10 * time.Minute)
			defer t.Stop()
			for {
				select {
				case <-purgeCtx.Done():
					return
				case <-t.C:
					if _, err := dbStrategy.DeleteExpired(purgeCtx); err != nil && purgeCtx.Err() == nil {
						logger.Warn("purging expired tokens", "error", err)
					}
				}
			}
		}()
		a.closers = append(a.closers, func() { cancel(); <-done })
	}
	if url := getenv("REDIS_URL"); url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		rdb := redis.NewClient(opt)
		a.closers = append(a.closers, func() { _ = rdb.Close() })
		pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := rdb.Ping(pingCtx).Err(); err != nil {
			return nil, fmt.Errorf("connect to Redis: %w", err)
		}
		redisStrategy, err := ginusers.NewDatabaseStrategy(redisstore.New(rdb))
		if err != nil {
			return nil, err
		}
		backends = append(backends, ginusers.NewBackend("redis", ginusers.NewBearerTransport(), redisStrategy))
		logger.Info("Redis tokens enabled at /auth/redis")
	}
	return backends, nil
}

func listenAddr(getenv func(string) string) string {
	if addr := getenv("ADDR"); addr != "" {
		return addr
	}
	return "127.0.0.1:8000"
}

// newSender sends mail through SMTP_HOST:SMTP_PORT when both are set, and
// otherwise logs the messages.
func newSender(getenv func(string) string, logger *slog.Logger) (mail.Sender, error) {
	host, port := getenv("SMTP_HOST"), getenv("SMTP_PORT")
	if host == "" || port == "" {
		logger.Info("SMTP_HOST and SMTP_PORT are not set: e-mails are logged, not sent")
		return mail.NewLogSender(logger), nil
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("SMTP_PORT: %w", err)
	}
	var opts []mail.SMTPOption
	if from := getenv("SMTP_FROM"); from != "" {
		opts = append(opts, mail.WithFrom(from))
	}
	if user := getenv("SMTP_USERNAME"); user != "" {
		opts = append(opts, mail.WithAuth(user, getenv("SMTP_PASSWORD")))
	}
	return mail.NewSMTP(host, p, opts...)
}

// validatePassword is fastapi-users' documented validator: at least 8
// characters (also the library's default rule) and not containing the e-mail.
func validatePassword(_ context.Context, password string, u *User) error {
	if len([]rune(password)) < 8 {
		return &ginusers.PasswordError{Reason: "Password should be at least 8 characters"}
	}
	if u.Email != "" && strings.Contains(password, u.Email) {
		return &ginusers.PasswordError{Reason: "Password should not contain e-mail"}
	}
	return nil
}

// adminAccounts is what ensureAdmin needs of the manager.
type adminAccounts interface {
	GetByEmail(ctx context.Context, email string) (*User, error)
	Create(ctx context.Context, in ginusers.UserCreate[Profile]) (*User, error)
}

// ensureAdmin creates the admin, an active, verified superuser with that
// e-mail and password, when no account has that e-mail (compared without
// case). It does nothing unless both are set.
//
// It never changes an existing account. Promoting it, or giving it the
// password, would hand the admin role to whoever holds the address: after
// the admin changes theirs, anyone may register the old one (in any case)
// and wait for a restart. So an existing superuser is left alone
// (ADMIN_PASSWORD is then ignored), and an account that is not a superuser
// is left as it is with a warning. A registration of the address between
// the lookup and the creation makes Create fail with [ginusers.ErrUserExists],
// and ends the same way.
func ensureAdmin(ctx context.Context, m adminAccounts, logger *slog.Logger, email, password string) error {
	if email == "" || password == "" {
		return nil
	}
	u, err := m.GetByEmail(ctx, email)
	if errors.Is(err, ginusers.ErrUserNotFound) {
		yes := true
		u, err = m.Create(ctx, ginusers.UserCreate[Profile]{Email: email, Password: password, Active: &yes, Superuser: &yes, Verified: &yes})
		if err == nil {
			logger.InfoContext(ctx, "admin created from ADMIN_EMAIL", "user_id", u.ID, "email", u.Email)
			return nil
		}
		if !errors.Is(err, ginusers.ErrUserExists) {
			return err
		}
		// Someone registered the address meanwhile: never promote it.
		u, err = m.GetByEmail(ctx, email)
	}
	if err != nil {
		return err
	}
	if u.Superuser {
		logger.InfoContext(ctx, "ADMIN_EMAIL is an existing superuser: nothing changed, ADMIN_PASSWORD is ignored", "user_id", u.ID, "email", u.Email)
		return nil
	}
	logger.WarnContext(ctx, "ADMIN_EMAIL belongs to an account that is not a superuser: it was left as it is, and no admin was created",
		"user_id", u.ID, "email", u.Email,
		"hint", "if the account is yours, promote it by hand (PATCH /users/{id} as a superuser, or in the database); otherwise set another ADMIN_EMAIL")
	return nil
}
