package ginusers_test

import "time"

// raceTimeout bounds the wait of a test for its concurrent requests: far
// more than they take on a loaded 2-core machine under -race, far less than
// go test's timeout. A deadlock then fails its own test, saying what it
// waited for, instead of hanging the package until the timeout kills it.
const raceTimeout = 20 * time.Second
