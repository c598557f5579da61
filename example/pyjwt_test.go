package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// debianPython is the interpreter whose python3-jwt package (PyJWT 2.6.0 on
// Debian 12) the PyJWT test uses. It is not the python3 first on PATH,
// which may be another installation without PyJWT.
const debianPython = "/usr/bin/python3"

// needPyJWT fails t, with what to install, unless debianPython can import
// PyJWT. It never skips: .ci/run installs python3-jwt.
func needPyJWT(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, debianPython, "-I", "-c", "import jwt; print(jwt.__version__)").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import PyJWT (%v: %s); install the Debian package python3-jwt: apt-get install python3-jwt", debianPython, err, bytes.TrimSpace(out))
	}
	t.Logf("PyJWT %s", bytes.TrimSpace(out))
}

// TestExampleWorksWithPyJWT is issue 7's done-when: a fastapi-users client
// and a PyJWT verifier work against the example unchanged. A Python script
// (testdata/fastapi_users_client.py) logs in over HTTP and verifies the
// access token with jwt.decode(token, secret, algorithms=["HS256"],
// audience="fastapi-users:auth"), which raised ImmatureSignatureError when
// iat had a fraction; then it mints access and verify tokens as
// fastapi-users does, with PyJWT, and uses them on /users/me and
// /auth/verify.
func TestExampleWorksWithPyJWT(t *testing.T) {
	needPyJWT(t)
	const secret = "an example secret that is long enough to sign"
	env := map[string]string{"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(), "SECRET": secret}
	base, stop := startExample(t, env)
	defer stop()
	r := call(t, "POST", base+"/auth/register", "application/json", `{"email": "king.arthur@camelot.bt", "password": "guinevere"}`, "")
	if r.code != 201 {
		t.Fatalf("register = %d %s", r.code, r.raw)
	}
	id := r.body["id"].(string)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	// The script talks to the example through a proxy that checks its
	// exchanges against the document.
	cmd := exec.CommandContext(ctx, debianPython, "-I", "testdata/fastapi_users_client.py", checkingProxy(t, base), "king.arthur@camelot.bt", "guinevere")
	cmd.Env = append(os.Environ(), "GINUSERS_SECRET="+secret)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("fastapi_users_client.py: %v (context: %v)\nstdout: %s\nstderr: %s", err, ctx.Err(), stdout.String(), stderr.String())
	}
	var got struct {
		PyJWT              string                     `json:"pyjwt"`
		LoginStatus        int                        `json:"login_status"`
		LoginClaims        map[string]json.RawMessage `json:"login_claims"`
		LoginDecodeError   string                     `json:"login_decode_error"`
		MeStatus           int                        `json:"me_status"`
		MintedAccessStatus int                        `json:"minted_access_status"`
		MintedAccessID     string                     `json:"minted_access_id"`
		MintedVerifyStatus int                        `json:"minted_verify_status"`
		MintedVerifyBody   map[string]any             `json:"minted_verify_body"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("fastapi_users_client.py printed %q: %v\nstderr: %s", stdout.String(), err, stderr.String())
	}
	t.Logf("PyJWT %s: %s", got.PyJWT, stdout.String())

	if got.LoginStatus != 200 || got.MeStatus != 200 {
		t.Fatalf("Python login = %d, GET /users/me with its token = %d; want 200, 200", got.LoginStatus, got.MeStatus)
	}
	if got.LoginDecodeError != "" {
		t.Errorf("PyJWT jwt.decode(login token, audience fastapi-users:auth) raised %s, want the claims", got.LoginDecodeError)
	} else {
		// PyJWT hands back the numbers as written: an int prints without
		// a decimal point, a float with one.
		whole := regexp.MustCompile(`^[0-9]+$`)
		for _, k := range []string{"iat", "exp"} {
			if !whole.Match(got.LoginClaims[k]) {
				t.Errorf("PyJWT decoded %s = %s, want a Python int", k, got.LoginClaims[k])
			}
		}
		if want := fmt.Sprintf("%q", id); string(got.LoginClaims["sub"]) != want || string(got.LoginClaims["aud"]) != `["fastapi-users:auth"]` {
			t.Errorf("PyJWT decoded sub = %s, aud = %s; want %s, [\"fastapi-users:auth\"]", got.LoginClaims["sub"], got.LoginClaims["aud"], want)
		}
	}
	if got.MintedAccessStatus != 200 || got.MintedAccessID != id {
		t.Errorf("GET /users/me with a PyJWT-minted fastapi-users access token = %d (user %q), want 200 (user %s)", got.MintedAccessStatus, got.MintedAccessID, id)
	}
	if got.MintedVerifyStatus != 200 || got.MintedVerifyBody["is_verified"] != true {
		t.Errorf("POST /auth/verify with a PyJWT-minted fastapi-users verify token = %d %v, want 200 and is_verified", got.MintedVerifyStatus, got.MintedVerifyBody)
	}
}
