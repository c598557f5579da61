package storetest

import (
	"sync/atomic"

	"github.com/ginusers/kit/ginusers"
)

// CountingHasher is a [ginusers.PasswordHasher] for tests: argon2id with
// parameters cheap enough for a fast suite (never for real passwords), that
// counts its calls, so tests can check how much hashing a request costs
// (one hash for an unknown address and a wrong password alike). It verifies
// every hash the default hasher does (bcrypt, argon2id at any parameters)
// and asks for an upgrade of those it did not make. It is safe for
// concurrent use.
type CountingHasher struct {
	inner ginusers.PasswordHasher
	// Hashes and Checks count the calls of Hash and Verify.
	Hashes, Checks atomic.Int64
}

// NewCountingHasher returns a CountingHasher.
func NewCountingHasher() *CountingHasher {
	return &CountingHasher{inner: ginusers.NewInsecureArgon2idHasher(ginusers.Argon2idParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})}
}

// Hash implements [ginusers.PasswordHasher].
func (h *CountingHasher) Hash(p string) (string, error) {
	h.Hashes.Add(1)
	return h.inner.Hash(p)
}

// Verify implements [ginusers.PasswordHasher].
func (h *CountingHasher) Verify(p, hash string) (bool, bool, error) {
	h.Checks.Add(1)
	return h.inner.Verify(p, hash)
}
