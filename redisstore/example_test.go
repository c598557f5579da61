package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/redisstore"
)

// This example needs a Redis server, so it only compiles.
func ExampleNew() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()

	tokens := redisstore.New(client, redisstore.WithKeyPrefix("myapp:token:"))

	// A database strategy stores the digest of each token it issues...
	sum := sha256.Sum256([]byte("the-opaque-token-sent-to-the-client"))
	now := time.Now()
	err := tokens.CreateToken(ctx, ginusers.AccessToken{
		Digest:    hex.EncodeToString(sum[:]),
		UserID:    "66f1c0ffee0123456789abcd",
		CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), // Redis deletes the token then
	})
	if err != nil {
		log.Fatal(err)
	}
	// ... and "log out everywhere" deletes all of a user's tokens.
	if _, err := tokens.DeleteUserTokens(ctx, "66f1c0ffee0123456789abcd"); err != nil {
		log.Fatal(err)
	}
}
