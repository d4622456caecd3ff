package feed

import "github.com/tide-live/tide/features"

// Memory is a viewer's long-term memory beside the online window:
// Recall merges durable follows and long-run preferences into the
// viewer's online features (features/memory implements it).
type Memory interface {
	Recall(userID string, f *features.UserFeatures)
}

// WithMemory merges m's long-term memory into every request's viewer
// features, so a viewer the online store forgot (idle longer than its
// user TTL, or followed before the replay window) is not a cold start and
// their followed anchors' live rooms are candidates again.
func WithMemory(m Memory) Option { return func(s *Service) { s.memory = m } }

// viewerInto reads the viewer's features: online, then long-term memory.
func (s *Service) viewerInto(userID string, f *features.UserFeatures) {
	s.store.UserInto(userID, f)
	if s.memory != nil {
		s.memory.Recall(userID, f)
	}
}
