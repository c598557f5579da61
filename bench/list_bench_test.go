package bench_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/mongotest"
)

// listSet is a collection of users for the listing benchmarks, filled
// once per test binary (every -count run and sub-benchmark reads the same
// users) and dropped by TestMain.
type listSet struct {
	once sync.Once
	err  error
	db   *mongo.Database
	m    *ginusers.Manager[Fields]
	// deep holds, per order, the cursor of the 150th page of 50 (of the
	// 20th with 1,000 users).
	deep map[string]string
}

// listSets are the collections of 10,000 and 1,000 users.
var listSets = map[int]*listSet{10_000: {}, 1_000: {}}

// dropListData drops the listing benchmarks' databases.
func dropListData() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, set := range listSets {
		if set.db != nil {
			_ = set.db.Drop(ctx)
		}
	}
}

// listDoc is user i of n as mongostore stores it. Addresses are a
// permutation of the numbers (so the e-mail order is not the ID order) over
// 20 domains; 95% of the users are active, 80% verified, one in 1,000 is a
// superuser.
func listDoc(i, n int) bson.D {
	email := fmt.Sprintf("Knight%05d@camelot%d.bt", i*7919%n, i%20)
	return bson.D{
		{Key: "_id", Value: bson.NewObjectID()},
		{Key: "email", Value: email},
		{Key: "email_key", Value: ginusers.EmailKey(email)},
		{Key: "email_key_v", Value: 2},
		{Key: "hashed_password", Value: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"},
		{Key: "is_active", Value: i%20 != 0},
		{Key: "is_superuser", Value: i%1000 == 0},
		{Key: "is_verified", Value: i%5 != 0},
		{Key: "session_epoch", Value: "epoch-" + fmt.Sprint(i)},
		{Key: "first_name", Value: "Knight"},
		{Key: "age", Value: i % 90},
	}
}

// setupListData returns the set of n users, storing them first with one
// InsertMany, creating the indexes and finding the deep cursors by walking
// with the largest pages.
func setupListData(b *testing.B, n int) *listSet {
	set := listSets[n]
	set.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		set.db = mongotest.Client(b).Database("bench_list_" + rand.Text()[:8])
		coll := set.db.Collection("users")
		docs := make([]any, n)
		for i := range docs {
			docs[i] = listDoc(i, n)
		}
		if _, set.err = coll.InsertMany(ctx, docs); set.err != nil {
			return
		}
		s := mongostore.New[Fields](coll)
		if set.err = s.EnsureIndexes(ctx); set.err != nil {
			return
		}
		if set.m, set.err = ginusers.New(s, ginusers.WithSecret(testSecret), ginusers.WithLogger(discardLogger)); set.err != nil {
			return
		}
		set.deep = map[string]string{}
		for _, o := range []ginusers.UserQuery{{Sort: ginusers.SortByEmail}, {Sort: ginusers.SortByID}} {
			// The cursor after n*3/4 - 50 users: that of page 150 of 50
			// with 10,000 users, read with pages of at most 500.
			q := o
			for rest := n*3/4 - 50; rest > 0; rest -= q.Limit {
				q.Limit = min(rest, ginusers.MaxListLimit)
				page, err := set.m.ListUsers(ctx, q)
				if err != nil {
					set.err = err
					return
				}
				q.After = page.Next
			}
			set.deep[o.Sort.String()] = q.After
		}
	})
	if set.err != nil {
		b.Fatalf("listing data: %v", set.err)
	}
	return set
}

// BenchmarkListUsers measures Manager.ListUsers and CountUsers over 10,000
// users in mongostore on the embedded FerretDB (or MONGODB_URI): first
// pages of 50 in each order, the 150th page reached by cursor, a search, a
// flag filter, and counts; and a few of them over 1,000 users, to show how
// the cost grows with the collection.
func BenchmarkListUsers(b *testing.B) {
	yes, no := true, false
	pages := []struct {
		name  string
		small bool // also measured with 1,000 users
		q     func(deep map[string]string) ginusers.UserQuery
		want  func(n int) int // users on the page
	}{
		{"page=1/order=email", true, func(map[string]string) ginusers.UserQuery { return ginusers.UserQuery{} }, page50},
		{"page=1/order=email-desc", false, func(map[string]string) ginusers.UserQuery { return ginusers.UserQuery{Descending: true} }, page50},
		{"page=1/order=id", true, func(map[string]string) ginusers.UserQuery { return ginusers.UserQuery{Sort: ginusers.SortByID} }, page50},
		{"page=1/order=id-desc", false, func(map[string]string) ginusers.UserQuery {
			return ginusers.UserQuery{Sort: ginusers.SortByID, Descending: true}
		}, page50},
		{"page=deep/order=email", true, func(deep map[string]string) ginusers.UserQuery { return ginusers.UserQuery{After: deep["email"]} }, page50},
		{"page=deep/order=id", true, func(deep map[string]string) ginusers.UserQuery {
			return ginusers.UserQuery{Sort: ginusers.SortByID, After: deep["id"]}
		}, page50},
		{"search=10-hits", false, func(map[string]string) ginusers.UserQuery { return ginusers.UserQuery{Email: "knight0420"} }, func(int) int { return 10 }},
		{"search=500-hits", false, func(map[string]string) ginusers.UserQuery { return ginusers.UserQuery{Email: "@camelot7."} }, page50},
		{"filter=superuser", false, func(map[string]string) ginusers.UserQuery { return ginusers.UserQuery{Superuser: &yes} }, func(n int) int { return n / 1000 }},
		{"filter=inactive", false, func(map[string]string) ginusers.UserQuery { return ginusers.UserQuery{Active: &no} }, page50},
	}
	counts := []struct {
		name  string
		small bool
		q     ginusers.UserQuery
		want  func(n int) int64
	}{
		{"count/filter=none", true, ginusers.UserQuery{}, func(n int) int64 { return int64(n) }},
		{"count/filter=active", false, ginusers.UserQuery{Active: &yes}, func(n int) int64 { return int64(n * 19 / 20) }},
		{"count/search=500-hits", false, ginusers.UserQuery{Email: "@camelot7."}, func(n int) int64 { return int64(n / 20) }},
	}
	for _, n := range []int{10_000, 1_000} {
		for _, p := range pages {
			if n != 10_000 && !p.small {
				continue
			}
			b.Run(fmt.Sprintf("users=%d/%s", n, p.name), func(b *testing.B) {
				set := setupListData(b, n)
				q, want := p.q(set.deep), p.want(n)
				b.ReportAllocs()
				start := cpuTime()
				defer reportCPU(b, start)
				for b.Loop() {
					page, err := set.m.ListUsers(b.Context(), q)
					if err != nil {
						b.Fatal(err)
					}
					if len(page.Users) != want {
						b.Fatalf("ListUsers(%+v) = %d users, want %d", q, len(page.Users), want)
					}
				}
			})
		}
		for _, c := range counts {
			if n != 10_000 && !c.small {
				continue
			}
			b.Run(fmt.Sprintf("users=%d/%s", n, c.name), func(b *testing.B) {
				set := setupListData(b, n)
				want := c.want(n)
				b.ReportAllocs()
				start := cpuTime()
				defer reportCPU(b, start)
				for b.Loop() {
					got, err := set.m.CountUsers(b.Context(), c.q)
					if err != nil {
						b.Fatal(err)
					}
					if got != want {
						b.Fatalf("CountUsers(%+v) = %d, want %d", c.q, got, want)
					}
				}
			})
		}
	}
}

func page50(int) int { return 50 }

// reportCPU reports the process CPU time per operation since start, as
// "cpu-ms/op" (see cpuTime).
func reportCPU(b *testing.B, start time.Duration) {
	if used := cpuTime() - start; used > 0 && b.N > 0 {
		b.ReportMetric(float64(used)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}
