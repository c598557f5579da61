package ginusers_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCoreModuleGraph: an application that imports only the core (ginusers
// and storetest) inherits no database server, no Redis client, no gin-jwt
// and no database driver of ours: MongoDB, FerretDB, Redis, the example and
// the benchmarks live in modules of their own. It builds such an
// application as a module of its own, outside the workspace, and reads its
// module graph (go list -m all) and its build (go list -deps).
//
// Gin itself requires go.mongodb.org/mongo-driver/v2 (its BSON renderer
// imports the bson package), so that module is in every Gin app's graph: the
// test checks that the core does not raise its version above Gin's and
// never builds the driver proper (the mongo package).
func TestCoreModuleGraph(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/app\n\ngo 1.26.0\n\nrequire github.com/ginusers/kit v0.0.0-00010101000000-000000000000\n\nreplace github.com/ginusers/kit => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))
	write("main.go", `package main

import (
	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

func main() {
	m, err := ginusers.New(storetest.NewMemStore[ginusers.NoFields](), ginusers.WithSecret([]byte("a secret of at least 32 random bytes!!")))
	if err != nil {
		panic(err)
	}
	ginusers.Routes(gin.New(), m)
}
`)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	graph := run("list", "-m", "all")
	for _, bad := range []string{
		"github.com/FerretDB/", "github.com/redis/", "github.com/appleboy/gin-jwt",
		"go.mongodb.org/mongo-driver ", // the v1 driver (FerretDB's)
		"github.com/jackc/pgx", "github.com/go-sql-driver/mysql", "modernc.org/sqlite",
		"github.com/ginusers/kit/mongostore", "github.com/ginusers/kit/redisstore",
		"github.com/golang-jwt/", "github.com/emersion/",
	} {
		for line := range strings.Lines(graph) {
			if strings.HasPrefix(line, bad) {
				t.Errorf("the module graph of an app importing only the core lists %s", strings.TrimSpace(line))
			}
		}
	}
	for line := range strings.Lines(graph) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "go.mongodb.org/mongo-driver/v2" && f[1] != "v2.5.0" {
			t.Errorf("the core raises go.mongodb.org/mongo-driver/v2 to %s, above Gin's v2.5.0", f[1])
		}
	}
	for _, pkg := range strings.Fields(run("list", "-deps", ".")) {
		if strings.HasPrefix(pkg, "go.mongodb.org/mongo-driver/v2/mongo") {
			t.Errorf("an app importing only the core builds %s", pkg)
		}
	}
}
