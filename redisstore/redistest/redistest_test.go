package redistest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ginusers/kit/redisstore/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

func TestPrefix(t *testing.T) {
	a, b := redistest.Prefix(t), redistest.Prefix(t)
	if a == b || !strings.HasPrefix(a, "test:TestPrefix:") || !strings.HasSuffix(a, ":") {
		t.Fatalf("Prefix() = %q, %q; want two distinct prefixes named after the test", a, b)
	}
}

func TestClientsAreIsolated(t *testing.T) {
	ctx := t.Context()
	a, b := redistest.Client(t), redistest.Client(t)
	if a.Options().DB == b.Options().DB {
		t.Fatalf("two clients share database %d, want one each", a.Options().DB)
	}
	if err := a.Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatalf("SET error = %v, want nil", err)
	}
	if n, err := b.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS k in the other client's database = %d, %v; want 0, nil", n, err)
	}
	db := a.Options().DB
	t.Run("a later client gets an empty database", func(t *testing.T) {
		c := redistest.Client(t)
		if c.Options().DB == db {
			t.Fatalf("a new client got database %d, which is still in use", db)
		}
		if n, err := c.DBSize(t.Context()).Result(); err != nil || n != 0 {
			t.Fatalf("DBSIZE = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestURL(t *testing.T) {
	u := redistest.URL(t)
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("URL() = %q: ParseURL() error = %v, want nil", u, err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if n, err := c.DBSize(t.Context()).Result(); err != nil || n != 0 {
		t.Fatalf("DBSIZE of URL()'s database = %d, %v; want 0, nil", n, err)
	}
	// The database is the test's own: no Client gets it while t runs.
	other := redistest.Client(t)
	if other.Options().DB == opts.DB {
		t.Fatalf("Client() got database %d, which URL() gave out", opts.DB)
	}
}

func TestDatabaseIsReleased(t *testing.T) {
	var first int
	t.Run("hold", func(t *testing.T) {
		c := redistest.Client(t)
		first = c.Options().DB
		if err := c.Set(t.Context(), "left-over", "x", 0).Err(); err != nil {
			t.Fatalf("SET error = %v, want nil", err)
		}
	})
	c := redistest.Client(t)
	// On REDIS_URL another test binary may take the released database first.
	if os.Getenv("REDIS_URL") == "" && c.Options().DB != first {
		t.Fatalf("Client() after the holder ended got database %d, want the released %d", c.Options().DB, first)
	}
	if n, err := c.DBSize(t.Context()).Result(); err != nil || n != 0 {
		t.Fatalf("DBSIZE of a reused database = %d, %v; want 0, nil", n, err)
	}
}
