package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/console"
	"github.com/ginusers/kit/mongostore"
)

// mountConsole serves the superuser console at /admin: sign in with
// ADMIN_EMAIL and ADMIN_PASSWORD (or any active superuser). Its sessions
// live in the collection console_sessions, apart from the API's tokens;
// every console action is logged as a "console audit" line. With
// COOKIE_INSECURE=1 its cookies drop Secure and the __Host- prefix, for
// plain HTTP on a host other than localhost.
func mountConsole(ctx context.Context, a *app, e *gin.Engine, m *ginusers.Manager[Profile], db *mongo.Database, getenv func(string) string, logger *slog.Logger) error {
	sessions := mongostore.NewTokenStore(db.Collection("console_sessions"))
	if err := sessions.EnsureIndexes(ctx); err != nil {
		return err
	}
	opts := []console.Option{
		console.WithSessionStore(sessions),
		console.WithAuditLogger(logger),
		console.WithLogger(logger),
	}
	if getenv("COOKIE_INSECURE") == "1" {
		opts = append(opts, console.WithInsecureCookie())
	}
	if err := console.Mount(e.Group("/admin"), m, opts...); err != nil {
		return err
	}
	if !sessions.HasTTLIndex() {
		purgeEvery(ctx, a, 10*time.Minute, logger, "purging expired console sessions", func(ctx context.Context, now time.Time) error {
			_, err := sessions.DeleteExpiredTokens(ctx, now)
			return err
		})
	}
	return nil
}
