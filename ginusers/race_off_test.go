//go:build !race

package ginusers_test

// underRace is true when the race detector is on. It makes pure-Go bcrypt
// about twenty times slower, so the slowest password vectors are thinned out.
const underRace = false
