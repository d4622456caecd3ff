// Package ranker holds the recommendation domain types (interactions, item
// ids, histories), the blended production model with its scorer API, the
// versioned model artifact and the Store that serving swaps models through.
//
// Inside the package every user and item is a dense int32 index; IDMap
// translates external ids (strings) to and from those indices. The learning
// algorithms live in sub-packages that work on plain int32 sequences:
// ranker/mf (implicit-feedback ALS) and ranker/neighbors (item-to-item
// co-occurrence and sequential transitions). ranker/offline splits data and
// evaluates models.
package ranker

// ItemID is a dense item index in [0, Model.NumItems()).
type ItemID int32

// UserID is a dense user index in [0, Interactions.Users.Len()).
type UserID int32

// IDMap assigns dense int32 indices to external string ids in first-seen
// order. The zero value is not usable; call NewIDMap.
type IDMap struct {
	index map[string]int32
	names []string
}

// NewIDMap returns an empty map.
func NewIDMap() *IDMap {
	return &IDMap{index: make(map[string]int32)}
}

// newIDMapFrom builds a map whose index i is names[i].
func newIDMapFrom(names []string) *IDMap {
	m := &IDMap{index: make(map[string]int32, len(names)), names: names}
	for i, n := range names {
		m.index[n] = int32(i)
	}
	return m
}

// Intern returns the index of name, assigning the next free one if name is new.
func (m *IDMap) Intern(name string) int32 {
	if i, ok := m.index[name]; ok {
		return i
	}
	i := int32(len(m.names))
	m.index[name] = i
	m.names = append(m.names, name)
	return i
}

// Lookup returns the index of name and whether it is known.
func (m *IDMap) Lookup(name string) (int32, bool) {
	i, ok := m.index[name]
	return i, ok
}

// Name returns the external id of index i. It panics if i is out of range.
func (m *IDMap) Name(i int32) string { return m.names[i] }

// Len is the number of ids in the map.
func (m *IDMap) Len() int { return len(m.names) }

// Names returns the external ids in index order. The slice is shared; do not
// modify it.
func (m *IDMap) Names() []string { return m.names }
