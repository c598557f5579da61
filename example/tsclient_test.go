package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tsClientDir holds the TypeScript client test: package.json pins
// openapi-typescript, openapi-fetch, typescript and @types/node, and
// package-lock.json (committed; node_modules is not) pins everything else.
const tsClientDir = "testdata/tsclient"

// needNode fails t, with what to install, unless Node.js 18 or later and
// npm run. It never skips: .ci/run installs the Debian packages nodejs and
// npm.
func needNode(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm", "npx"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (%v): the TypeScript client test needs Node.js 18 or later and npm; install the Debian packages nodejs and npm: apt-get install nodejs npm", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", "--version").Output()
	v := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if n, convErr := strconv.Atoi(major); err != nil || convErr != nil || n < 18 {
		t.Fatalf("node --version = %q (%v): the TypeScript client test needs Node.js 18 or later (fetch, node --test)", v, err)
	}
}

// TestExampleTypeScriptClient is issue 9's "a real client from the
// document": it generates TypeScript types from the OpenAPI document the
// example serves, with openapi-typescript, compiles a test written
// against them with openapi-fetch in strict mode (so the document must
// give every operation typed parameters, bodies and answers), and runs it
// with node --test against the example: register, log in with the form,
// read and update the user, log out, and get 401. The client talks to the
// example through [checkingProxy], so its exchanges are also checked
// against the document.
//
// npm ci needs the npm registry, or a cache (~/.npm) that already holds
// the locked packages: it runs with --prefer-offline, so a warm cache is
// not revalidated.
func TestExampleTypeScriptClient(t *testing.T) {
	needNode(t)
	start := time.Now()
	env := map[string]string{"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(), "SECRET": "an example secret that is long enough to sign"}
	base, stop := startExample(t, env)
	defer stop()
	proxy := checkingProxy(t, base)

	// A copy, so that concurrent runs and the checkout never share a
	// node_modules.
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "tsconfig.json", "client.test.ts"} {
		b, err := os.ReadFile(filepath.Join(tsClientDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Loopback is never proxied, whatever HTTP(S)_PROXY the registry needs.
	noProxy := []string{"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost", "NO_COLOR=1"}
	run := func(step string, timeout time.Duration, extraEnv []string, name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), noProxy...), extraEnv...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		killGroupOnCancel(cmd)
		cmd.WaitDelay = 5 * time.Second
		began := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v (context: %v, after %v)\n%s", step, err, ctx.Err(), time.Since(began).Round(time.Millisecond), out.String())
		}
		t.Logf("%s: %v", step, time.Since(began).Round(time.Millisecond))
		return out.String()
	}

	run("npm ci", 4*time.Minute, nil, "npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=warn")
	// --default-non-nullable false: a property with a default stays
	// optional in request bodies, as the document says.
	run("openapi-typescript", time.Minute, nil, "npx", "--no", "--", "openapi-typescript", base+"/openapi.json", "-o", "schema.d.ts", "--default-non-nullable", "false")
	run("tsc", 2*time.Minute, nil, "npx", "--no", "--", "tsc")
	out := run("node --test", time.Minute, []string{"API_BASE_URL=" + proxy}, "node", "--test", "dist/client.test.js")
	if !strings.Contains(out, "\n# pass 1\n") || !strings.Contains(out, "\n# fail 0\n") {
		t.Fatalf("node --test did not pass one test:\n%s", out)
	}
	t.Logf("node --test:\n%s", out)
	t.Logf("the whole test: %v", time.Since(start).Round(time.Millisecond))
}
