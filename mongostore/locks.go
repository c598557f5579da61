package mongostore

import "sync"

// processWrites serialises, within this process, the writes to one user
// document (the key is the collection's namespace and the user's id), for
// every Store on that collection: FerretDB applies an update by reading
// the document, changing it in Go and writing it back, with no lock, so two
// writes racing on one document can lose one of them or both see their
// condition hold. MongoDB needs no such guard (every update of one
// document is atomic there, across processes too); it costs an
// uncontended mutex per write. It is shared by the Stores of the process
// because two Stores on one collection share its documents.
var processWrites keyedLocks

// keyedLocks serialises work per key within the process.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
