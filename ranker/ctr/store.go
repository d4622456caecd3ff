package ctr

import "sync/atomic"

// Store holds the CTR artifact serving scores with and swaps it
// atomically, so a request never sees a half-replaced artifact and a new
// version can be hot-loaded while requests run.
type Store struct {
	p atomic.Pointer[Artifact]
}

// NewStore returns a store holding a (which may be nil: no model, the
// feed falls back to its hand-set weights).
func NewStore(a *Artifact) *Store {
	s := &Store{}
	s.p.Store(a)
	return s
}

// Artifact returns the current artifact, or nil.
func (s *Store) Artifact() *Artifact {
	if s == nil {
		return nil
	}
	return s.p.Load()
}

// Swap installs a and returns the previous artifact.
func (s *Store) Swap(a *Artifact) *Artifact { return s.p.Swap(a) }

// LoadFile reads the artifact at path and, if it is valid, installs it;
// a bad file leaves the current artifact in place.
func (s *Store) LoadFile(path string) error {
	a, err := LoadFile(path)
	if err != nil {
		return err
	}
	s.p.Store(a)
	return nil
}

// Model returns the artifact's model of kind k, or nil.
func (a *Artifact) Model(k Kind) *Model {
	if a == nil {
		return nil
	}
	if k == Products {
		return a.Products
	}
	return a.Rooms
}
