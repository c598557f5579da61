// A client of the example generated from its served OpenAPI document:
// tsclient_test.go runs openapi-typescript on GET /openapi.json to write
// schema.d.ts, compiles this file with tsc in strict mode (so the document
// must give typed operations and bodies), and runs it with node --test
// against the example at API_BASE_URL.
import { test } from "node:test";
import assert from "node:assert/strict";
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";

type UserRead = components["schemas"]["UserRead"];

const baseUrl = process.env.API_BASE_URL;
if (!baseUrl) {
  throw new Error("API_BASE_URL is not set");
}

test("register, log in, read and update the user, log out with the generated client", async () => {
  const client = createClient<paths>({ baseUrl });
  const email = `ts-client-${Date.now()}@camelot.bt`;
  const password = "excalibur-42";

  const reg = await client.POST("/auth/register", { body: { email, password, first_name: "Arthur" } });
  assert.equal(reg.response.status, 201, JSON.stringify(reg.error));
  const registered: UserRead | undefined = reg.data;
  assert.equal(registered?.email, email);
  assert.equal(registered?.first_name, "Arthur");
  assert.equal(registered?.is_verified, false);

  // The login form: openapi-fetch encodes the body with URLSearchParams
  // only for exactly this content type (otherwise it sends JSON).
  const login = await client.POST("/auth/jwt/login", {
    body: { username: email, password },
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  assert.equal(login.response.status, 200, JSON.stringify(login.error));
  const token: string | undefined = login.data?.access_token;
  assert.ok(token, "no access_token");
  client.use({
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });

  const me = await client.GET("/users/me");
  assert.equal(me.response.status, 200, JSON.stringify(me.error));
  assert.equal(me.data?.email, email);
  assert.equal(me.data?.id, registered?.id);

  const patched = await client.PATCH("/users/me", { body: { first_name: "Uther" } });
  assert.equal(patched.response.status, 200, JSON.stringify(patched.error));
  const firstName: string | null | undefined = patched.data?.first_name;
  assert.equal(firstName, "Uther");
  assert.equal(patched.data?.last_name, null);

  const logout = await client.POST("/auth/jwt/logout");
  assert.equal(logout.response.status, 204, JSON.stringify(logout.error));
  assert.equal(logout.data, undefined);

  const after = await client.GET("/users/me");
  assert.equal(after.response.status, 401);
  assert.equal(after.data, undefined);
  assert.deepEqual(after.error, { detail: "Unauthorized" });
});

// Never called: tsc fails on an unused @ts-expect-error, so each line below
// proves the generated types refuse what the document refuses.
export function typesAreStrict(client: Client<paths>) {
  // @ts-expect-error UserCreate requires a password.
  void client.POST("/auth/register", { body: { email: "a@camelot.bt" } });
  // @ts-expect-error first_name is a string or null.
  void client.PATCH("/users/me", { body: { first_name: 42 } });
  // @ts-expect-error the login form requires a username.
  void client.POST("/auth/jwt/login", { body: { password: "x" } });
  // @ts-expect-error the document has no such operation.
  void client.GET("/users/everyone");
  // @ts-expect-error GET /users/{id} needs its path parameter.
  void client.GET("/users/{id}");
}
