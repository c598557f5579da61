package redisstore_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/redisstore"
)

// silentServer accepts connections and never answers, like a Redis that
// hangs; it returns its address.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// refusedAddr returns a loopback address nobody listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestUnreachableRedisIsUnavailable checks that every method fails, within
// the client's timeouts, with an error wrapping both ginusers.ErrUnavailable
// and go-redis' error when Redis refuses connections or does not answer,
// and that a cancelled context is not reported as unavailability.
func TestUnreachableRedisIsUnavailable(t *testing.T) {
	const digest = "7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069"
	calls := []struct {
		name string
		call func(ctx context.Context, s *redisstore.Store) error
	}{
		{"CreateToken", func(ctx context.Context, s *redisstore.Store) error {
			return s.CreateToken(ctx, ginusers.AccessToken{Digest: digest, UserID: "u1", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
		}},
		{"GetToken", func(ctx context.Context, s *redisstore.Store) error { _, err := s.GetToken(ctx, digest); return err }},
		{"DeleteToken", func(ctx context.Context, s *redisstore.Store) error { _, err := s.DeleteToken(ctx, digest); return err }},
		{"DeleteUserTokens", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.DeleteUserTokens(ctx, "u1")
			return err
		}},
	}
	for _, server := range []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"refusing connections", refusedAddr},
		{"not answering", silentServer},
	} {
		t.Run(server.name, func(t *testing.T) {
			const timeout = 200 * time.Millisecond
			client := redis.NewClient(&redis.Options{
				Addr:        server.addr(t),
				DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, PoolTimeout: timeout,
			})
			t.Cleanup(func() { _ = client.Close() })
			s := redisstore.New(client)
			for _, c := range calls {
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a bug fails, never hangs
				start := time.Now()
				err := c.call(ctx, s)
				took := time.Since(start)
				cancel()
				if !errors.Is(err, ginusers.ErrUnavailable) || errors.Is(err, ginusers.ErrTokenNotFound) {
					t.Errorf("%s() error = %v, want one wrapping ginusers.ErrUnavailable", c.name, err)
				}
				var ne net.Error
				if !errors.As(err, &ne) {
					t.Errorf("%s() error = %v, want one wrapping go-redis' network error too", c.name, err)
				}
				if took > 5*time.Second {
					t.Errorf("%s() took %v, want it bounded by the client's timeouts and retries", c.name, took)
				}

				ctx, cancel = context.WithCancel(t.Context())
				cancel()
				if err := c.call(ctx, s); !errors.Is(err, context.Canceled) || errors.Is(err, ginusers.ErrUnavailable) {
					t.Errorf("%s() with a cancelled context error = %v, want context.Canceled and not ErrUnavailable", c.name, err)
				}
			}
		})
	}
}
