package mongostore_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/mongostore"
)

// unreachableClient returns a client for a loopback port nobody listens
// on, with a short server selection timeout.
func unreachableClient(t *testing.T, timeout time.Duration) *mongo.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr + "/").
		SetServerSelectionTimeout(timeout).SetConnectTimeout(timeout))
	if err != nil {
		t.Fatalf("Connect() error = %v", err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

// TestUnreachableServerIsUnavailable checks that every method of Store and
// TokenStore fails within the client's server selection timeout with an
// error wrapping both ginusers.ErrUnavailable and the driver's timeout
// error when no server can be reached, and that a cancelled context is not
// reported as unavailability.
func TestUnreachableServerIsUnavailable(t *testing.T) {
	const timeout = 300 * time.Millisecond
	db := unreachableClient(t, timeout).Database("ginusers")
	users := mongostore.New[storetest.Fields](db.Collection("users"))
	tokens := mongostore.NewTokenStore(db.Collection("access_tokens"))
	const id = "665f1c2e8a1b2c3d4e5f6a7b"
	digest := "7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069"
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Store.Create", func(ctx context.Context) error {
			return users.Create(ctx, &ginusers.User[storetest.Fields]{Email: "king.arthur@camelot.bt"})
		}},
		{"Store.Get", func(ctx context.Context) error { _, err := users.Get(ctx, id); return err }},
		{"Store.GetByEmail", func(ctx context.Context) error { _, err := users.GetByEmail(ctx, "king.arthur@camelot.bt"); return err }},
		{"Store.Update", func(ctx context.Context) error {
			email := "king.arthur@camelot.bt"
			_, err := users.Update(ctx, id, ginusers.UserChange[storetest.Fields]{Email: &email}, ginusers.UserCondition{})
			return err
		}},
		{"Store.Delete", func(ctx context.Context) error { return users.Delete(ctx, id, ginusers.UserCondition{}) }},
		{"Store.EnsureIndexes", users.EnsureIndexes},
		{"TokenStore.EnsureIndexes", tokens.EnsureIndexes},
		{"TokenStore.CreateToken", func(ctx context.Context) error {
			return tokens.CreateToken(ctx, ginusers.AccessToken{Digest: digest, UserID: id, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
		}},
		{"TokenStore.GetToken", func(ctx context.Context) error { _, err := tokens.GetToken(ctx, digest); return err }},
		{"TokenStore.DeleteToken", func(ctx context.Context) error { _, err := tokens.DeleteToken(ctx, digest); return err }},
		{"TokenStore.DeleteUserTokens", func(ctx context.Context) error { _, err := tokens.DeleteUserTokens(ctx, id); return err }},
		{"TokenStore.DeleteExpiredTokens", func(ctx context.Context) error { _, err := tokens.DeleteExpiredTokens(ctx, time.Now()); return err }},
	}
	for _, c := range calls {
		t.Run(c.name+" is unavailable", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a bug fails, never hangs
			defer cancel()
			start := time.Now()
			err := c.call(ctx)
			took := time.Since(start)
			if !errors.Is(err, ginusers.ErrUnavailable) || !mongo.IsTimeout(err) {
				t.Fatalf("%s() error = %v, want one wrapping ginusers.ErrUnavailable and the driver's timeout", c.name, err)
			}
			if errors.Is(err, ginusers.ErrUserNotFound) || errors.Is(err, ginusers.ErrTokenNotFound) {
				t.Fatalf("%s() error = %v, want no not-found", c.name, err)
			}
			if took > timeout+2*time.Second {
				t.Fatalf("%s() took %v, want about the server selection timeout %v", c.name, took, timeout)
			}
		})
		t.Run(c.name+" with a cancelled context is not unavailable", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := c.call(ctx)
			if !errors.Is(err, context.Canceled) || errors.Is(err, ginusers.ErrUnavailable) {
				t.Fatalf("%s() with a cancelled context error = %v, want one wrapping context.Canceled and not ErrUnavailable", c.name, err)
			}
		})
	}
}
