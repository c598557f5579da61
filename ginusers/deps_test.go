package ginusers_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The core must stay storage-agnostic: no package under ginusers/ imports
// the MongoDB driver, mongostore or FerretDB, and the driver proper is not
// even an indirect dependency. (Gin itself imports the driver's bson
// package for its BSON renderer; that is Gin's, not ours.)
func TestCoreDoesNotImportMongo(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "github.com/ginusers/kit/ginusers/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, "go.mongodb.org/") || strings.HasPrefix(imp, "github.com/ginusers/kit/mongostore") || strings.HasPrefix(imp, "github.com/FerretDB/") {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
	deps, err := exec.Command("go", "list", "-deps", "github.com/ginusers/kit/ginusers/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, deps)
	}
	for _, pkg := range strings.Fields(string(deps)) {
		if strings.HasPrefix(pkg, "go.mongodb.org/mongo-driver/v2/mongo") || strings.HasPrefix(pkg, "github.com/FerretDB/") || strings.HasPrefix(pkg, "github.com/ginusers/kit/mongostore") {
			t.Errorf("ginusers depends on %s", pkg)
		}
	}
}

// golang-jwt is the independent JWT library that checks ginusers' tokens in
// interop_test.go: only tests may import it, never the code users build.
func TestGolangJWTIsATestDependencyOnly(t *testing.T) {
	deps, err := exec.Command("go", "list", "-deps", "github.com/ginusers/kit/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, deps)
	}
	for _, pkg := range strings.Fields(string(deps)) {
		if strings.HasPrefix(pkg, "github.com/golang-jwt/jwt/v5") {
			t.Errorf("a non-test package of the module depends on %s", pkg)
		}
	}
}
