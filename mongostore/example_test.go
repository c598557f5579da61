package mongostore_test

import (
	"context"
	"log"
	"os"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/mongostore"
)

// Profile holds the application's own user fields, stored inline in the
// user document by their bson tags.
type Profile struct {
	FirstName *string `json:"first_name,omitempty" bson:"first_name,omitempty"`
}

// This example needs a MongoDB server, so it only compiles.
func ExampleNew() {
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI(os.Getenv("MONGODB_URI")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Disconnect(ctx)

	store := mongostore.New[Profile](client.Database("app").Collection("users"))
	if err := store.EnsureIndexes(ctx); err != nil {
		log.Fatal(err)
	}
	m, err := ginusers.New(store, ginusers.WithSecret([]byte(os.Getenv("SECRET"))))
	if err != nil {
		log.Fatal(err)
	}

	r := gin.New()
	ginusers.Routes(r, m)
	log.Fatal(r.Run(":8080"))
}
