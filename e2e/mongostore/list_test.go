package mongostore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/mongotest"
)

var listOrders = []struct {
	sort ginusers.UserSort
	desc bool
}{
	{ginusers.SortByEmail, false},
	{ginusers.SortByEmail, true},
	{ginusers.SortByID, false},
	{ginusers.SortByID, true},
}

// walkEmails reads every page of q and returns the addresses in order.
func walkEmails(t *testing.T, s *mongostore.Store[storetest.Fields], q ginusers.UserQuery) []string {
	t.Helper()
	var got []string
	for range 1000 {
		page, err := s.List(t.Context(), q)
		if err != nil {
			t.Fatalf("List(%+v) error = %v, want nil", q, err)
		}
		for _, u := range page.Users {
			got = append(got, u.Email)
		}
		if page.Next == "" {
			return got
		}
		q.After = page.Next
	}
	t.Fatalf("List(%+v): still issuing cursors after 1000 pages", q)
	return nil
}

// TestListDocumentsWithoutEmailKey: documents that another program wrote
// after EnsureIndexes have no email_key. They are neither listed nor
// counted (so the pages and the count agree, and paging never stalls on
// keys that are all missing) until the next EnsureIndexes gives them one;
// a document whose email is not a string never is.
func TestListDocumentsWithoutEmailKey(t *testing.T) {
	s, coll := newStore(t)
	ctx := t.Context()
	for _, e := range []string{"kay@camelot.bt", "Bors@camelot.bt", "merlin@avalon.bt"} {
		if err := s.Create(ctx, &ginusers.User[storetest.Fields]{Email: e, Active: true}); err != nil {
			t.Fatalf("Create(%q) error = %v, want nil", e, err)
		}
	}
	for _, e := range []string{"Lancelot@camelot.bt", "galahad@camelot.bt", "tristan@lyonesse.bt"} {
		beanieUser(t, coll, e)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "email", Value: 42}, {Key: "is_active", Value: true}}); err != nil {
		t.Fatalf("InsertOne(email 42) error = %v, want nil", err)
	}

	check := func(when string, want []string) {
		t.Helper()
		for _, o := range listOrders {
			for _, limit := range []int{1, 2, 10} {
				got := walkEmails(t, s, ginusers.UserQuery{Sort: o.sort, Descending: o.desc, Limit: limit})
				slices.SortFunc(got, func(a, b string) int { return strings.Compare(ginusers.EmailKey(a), ginusers.EmailKey(b)) })
				if !slices.Equal(got, want) {
					t.Fatalf("%s: the pages of List(order %v, descending %v, limit %d) = %q, want %q", when, o.sort, o.desc, limit, got, want)
				}
			}
		}
		for _, q := range []ginusers.UserQuery{{}, {Active: ptr(true)}} {
			n, err := s.Count(ctx, q)
			if err != nil || n != int64(len(want)) {
				t.Fatalf("%s: Count(%+v) = %d, %v; want %d", when, q, n, err, len(want))
			}
		}
	}
	check("before EnsureIndexes", []string{"Bors@camelot.bt", "kay@camelot.bt", "merlin@avalon.bt"})
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("EnsureIndexes() error = %v, want nil", err)
	}
	check("after EnsureIndexes", []string{
		"Bors@camelot.bt", "galahad@camelot.bt", "kay@camelot.bt", "Lancelot@camelot.bt", "merlin@avalon.bt", "tristan@lyonesse.bt",
	})
}

// commandLog records the find and aggregate commands a client sends.
type commandLog struct {
	mu   sync.Mutex
	cmds []bson.Raw
}

func (l *commandLog) started(_ context.Context, e *event.CommandStartedEvent) {
	if e.CommandName != "find" && e.CommandName != "aggregate" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cmds = append(l.cmds, slices.Clone(e.Command))
}

func (l *commandLog) take() []bson.Raw {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cmds
	l.cmds = nil
	return c
}

// onFerretDB reports whether the server is FerretDB (its buildInfo says
// so), rather than MongoDB.
func onFerretDB(t *testing.T, db *mongo.Database) bool {
	t.Helper()
	var info bson.M
	if err := db.RunCommand(t.Context(), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		t.Fatalf("buildInfo error = %v, want nil", err)
	}
	_, ferret := info["ferretdbVersion"]
	return ferret
}

// explainable returns the command without the fields the driver adds for
// the session and the cluster, ready to be wrapped in an explain.
func explainable(cmd bson.Raw) bson.D {
	var d bson.D
	elems, _ := cmd.Elements()
	for _, e := range elems {
		k := e.Key()
		if strings.HasPrefix(k, "$") || k == "lsid" || k == "txnNumber" {
			continue
		}
		d = append(d, bson.E{Key: k, Value: e.Value()})
	}
	return d
}

// planStages collects the stage names and index names of an explained
// plan, however deeply nested (classic inputStage(s), or the queryPlan of
// the slot-based engine).
func planStages(doc bson.Raw, stages, indexes *[]string) {
	elems, _ := doc.Elements()
	for _, e := range elems {
		v := e.Value()
		switch {
		case e.Key() == "stage" && v.Type == bson.TypeString:
			*stages = append(*stages, v.StringValue())
		case e.Key() == "indexName" && v.Type == bson.TypeString:
			*indexes = append(*indexes, v.StringValue())
		case v.Type == bson.TypeEmbeddedDocument:
			planStages(v.Document(), stages, indexes)
		case v.Type == bson.TypeArray:
			planStages(bson.Raw(v.Array()), stages, indexes)
		}
	}
}

// TestListUsesIndexes checks the finds that List sends. On every server:
// each has a range on its sort key's field (email_key or _id) or on
// email_key, sorts on that key alone and is limited to the page plus one;
// MongoDB will not read a sort from a sparse index (email_key_unique is
// sparse) unless the filter excludes the documents it lacks, which the
// range on email_key does. On MongoDB (MONGODB_URI), each is also
// explained: the winning plan scans email_key_unique (e-mail order) or _id
// (ID order), has no blocking SORT stage, and examines about one page of
// keys, on the first page as on a deep one. FerretDB v1 uses no index for
// a find: its explain shows a scan of the whole table, with neither the
// filter nor the sort pushed down to SQLite, which the test checks there
// (docs/performance.md gives the cost).
func TestListUsesIndexes(t *testing.T) {
	ctx := t.Context()
	var log commandLog
	client, err := mongo.Connect(options.Client().ApplyURI(mongotest.URI(t)).SetMonitor(&event.CommandMonitor{Started: log.started}))
	if err != nil {
		t.Fatalf("Connect() error = %v, want nil", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	})
	db := client.Database(mongotest.Database(t).Name())
	coll := db.Collection("users")
	s := mongostore.New[storetest.Fields](coll)
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("EnsureIndexes() error = %v, want nil", err)
	}
	const n, limit = 300, 10
	docs := make([]any, n)
	for i := range docs {
		email := fmt.Sprintf("knight%03d@camelot.bt", i)
		docs[i] = bson.D{
			{Key: "email", Value: email}, {Key: "email_key", Value: email}, {Key: "email_key_v", Value: 2},
			{Key: "hashed_password", Value: "h"}, {Key: "is_active", Value: i%3 != 0},
			{Key: "is_superuser", Value: i%50 == 0}, {Key: "is_verified", Value: true},
		}
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatalf("InsertMany() error = %v, want nil", err)
	}
	mongoDB := !onFerretDB(t, db)
	log.take()

	type sent struct {
		what       string
		cmd        bson.Raw
		sortKey    string
		unfiltered bool // no search or flag: a page costs about a page of keys
	}
	var finds []sent
	for _, o := range listOrders {
		sortKey := "email_key"
		if o.sort == ginusers.SortByID {
			sortKey = "_id"
		}
		for _, f := range []struct {
			name string
			q    ginusers.UserQuery
		}{
			{"no filter", ginusers.UserQuery{}},
			{"search", ginusers.UserQuery{Email: "knight1"}},
			{"active", ginusers.UserQuery{Active: ptr(true)}},
		} {
			q := f.q
			q.Sort, q.Descending, q.Limit = o.sort, o.desc, limit
			for page := 1; page <= 8; page++ {
				p, err := s.List(ctx, q)
				if err != nil {
					t.Fatalf("List(%+v) error = %v, want nil", q, err)
				}
				cmds := log.take()
				if len(cmds) != 1 {
					t.Fatalf("List(%+v) sent %d find commands, want 1", q, len(cmds))
				}
				if page == 1 || page == 8 {
					finds = append(finds, sent{fmt.Sprintf("order %v descending %v, %s, page %d", o.sort, o.desc, f.name, page), cmds[0], sortKey, f.name == "no filter"})
				}
				if p.Next == "" {
					break
				}
				q.After = p.Next
			}
		}
	}
	for _, f := range finds {
		var cmd struct {
			Filter bson.Raw `bson:"filter"`
			Sort   bson.D   `bson:"sort"`
			Limit  int64    `bson:"limit"`
		}
		if err := bson.Unmarshal(f.cmd, &cmd); err != nil {
			t.Fatalf("%s: decode %v: %v", f.what, f.cmd, err)
		}
		if len(cmd.Sort) != 1 || cmd.Sort[0].Key != f.sortKey {
			t.Fatalf("%s: find sorts on %v, want %s alone", f.what, cmd.Sort, f.sortKey)
		}
		if cmd.Limit != limit+1 {
			t.Fatalf("%s: find limit %d, want %d", f.what, cmd.Limit, limit+1)
		}
		cond, ok := cmd.Filter.Lookup("email_key").DocumentOK()
		if !ok {
			t.Fatalf("%s: filter %v has no condition on email_key, want a range that excludes documents without one", f.what, cmd.Filter)
		}
		if _, err := cond.LookupErr("$gte"); err != nil {
			t.Fatalf("%s: filter's email_key condition %v has no range", f.what, cond)
		}
		explain, err := db.RunCommand(ctx, bson.D{{Key: "explain", Value: explainable(f.cmd)}, {Key: "verbosity", Value: "executionStats"}}).Raw()
		if err != nil {
			t.Fatalf("%s: explain error = %v, want nil", f.what, err)
		}
		if !mongoDB {
			// What docs/performance.md says of FerretDB: the find is not
			// pushed down to SQLite, which scans the table.
			filterPushdown, _ := explain.Lookup("filterPushdown").BooleanOK()
			sortPushdown, _ := explain.Lookup("sortPushdown").BooleanOK()
			if filterPushdown || sortPushdown || !strings.Contains(explain.Lookup("queryPlanner").String(), "SCAN") {
				t.Fatalf("%s: FerretDB explain = %v, want a table scan without pushdown (update docs/performance.md if FerretDB now uses an index)", f.what, explain)
			}
			continue
		}
		winning, ok := explain.Lookup("queryPlanner", "winningPlan").DocumentOK()
		if !ok {
			t.Fatalf("%s: explain = %v, want a queryPlanner.winningPlan", f.what, explain)
		}
		var stages, indexes []string
		planStages(winning, &stages, &indexes)
		wantIndex := "email_key_unique"
		if f.sortKey == "_id" {
			wantIndex = "_id_"
		}
		if !slices.Contains(indexes, wantIndex) || slices.Contains(stages, "SORT") || slices.Contains(stages, "COLLSCAN") {
			t.Fatalf("%s: winning plan stages %v on indexes %v, want an index scan of %s and no SORT or COLLSCAN", f.what, stages, indexes, wantIndex)
		}
		keys, ok := explain.Lookup("executionStats", "totalKeysExamined").AsInt64OK()
		if !ok {
			t.Fatalf("%s: explain = %v, want executionStats.totalKeysExamined", f.what, explain)
		}
		if f.unfiltered && keys > limit+2 {
			t.Fatalf("%s: examined %d index keys for a page of %d, want at most %d", f.what, keys, limit, limit+2)
		}
	}
}
