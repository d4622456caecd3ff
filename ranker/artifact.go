package ranker

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
)

// Artifact format: the 8-byte magic "TIDERNK\n", a big-endian uint32 format
// version, then the Model encoded with encoding/gob. Readers reject other
// magics and versions they do not know, so a serving binary never scores
// with a model it cannot read correctly.
const (
	artifactMagic = "TIDERNK\n"
	// FormatVersion is the artifact format this code writes and reads.
	FormatVersion uint32 = 1
)

// ErrBadArtifact is wrapped by errors about unreadable model artifacts.
var ErrBadArtifact = errors.New("bad model artifact")

// Save writes the model artifact to w.
func (m *Model) Save(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var hdr [12]byte
	copy(hdr[:8], artifactMagic)
	binary.BigEndian.PutUint32(hdr[8:], FormatVersion)
	if _, err := bw.Write(hdr[:]); err != nil {
		return fmt.Errorf("ranker: writing artifact: %w", err)
	}
	if err := gob.NewEncoder(bw).Encode(m); err != nil {
		return fmt.Errorf("ranker: encoding artifact: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ranker: writing artifact: %w", err)
	}
	return nil
}

// Load reads a model artifact written by Save.
func Load(r io.Reader) (*Model, error) {
	br := bufio.NewReader(r)
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("ranker: reading artifact header: %w (%w)", ErrBadArtifact, err)
	}
	if string(hdr[:8]) != artifactMagic {
		return nil, fmt.Errorf("ranker: not a model artifact (magic %q): %w", hdr[:8], ErrBadArtifact)
	}
	if v := binary.BigEndian.Uint32(hdr[8:]); v != FormatVersion {
		return nil, fmt.Errorf("ranker: artifact format %d, this build reads %d: %w", v, FormatVersion, ErrBadArtifact)
	}
	m := new(Model)
	if err := gob.NewDecoder(br).Decode(m); err != nil {
		return nil, fmt.Errorf("ranker: decoding artifact: %w (%w)", ErrBadArtifact, err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.init()
	return m, nil
}

// check validates the shape of a decoded model.
func (m *Model) check() error {
	n := len(m.ItemNames)
	bad := func(what string) error { return fmt.Errorf("ranker: artifact %s: %w", what, ErrBadArtifact) }
	switch {
	case m.NN == nil:
		return bad("has no neighbour model")
	case len(m.Pop) != n || m.NN.NumItems != n:
		return bad("item counts disagree")
	case len(m.NN.Co.Off) != n+1 || len(m.NN.Seq.Off) != n+1:
		return bad("neighbour rows disagree with item count")
	case m.MF != nil && (m.MF.NumItems != n || len(m.MF.Items) != n*m.MF.Factors || len(m.MF.Gram) != m.MF.Factors*m.MF.Factors):
		return bad("factor shapes disagree with item count")
	case m.Trend != nil && len(m.Trend.Times) != len(m.Trend.Items):
		return bad("trend columns differ in length")
	}
	if m.Rerank != nil {
		if err := m.Rerank.Check(); err != nil || m.Rerank.Dim != NumFeatures {
			return bad("re-ranker shapes disagree with the features")
		}
	}
	if m.Trend != nil {
		for j, it := range m.Trend.Items {
			if it < 0 || int(it) >= n || (j > 0 && m.Trend.Times[j] < m.Trend.Times[j-1]) {
				return bad("trend index is out of range or order")
			}
		}
	}
	for _, rel := range []struct {
		off []int32
		nbr []int32
	}{{m.NN.Co.Off, m.NN.Co.Nbr}, {m.NN.Seq.Off, m.NN.Seq.Nbr}} {
		if int(rel.off[n]) != len(rel.nbr) {
			return bad("neighbour offsets disagree with entries")
		}
		for _, b := range rel.nbr {
			if b < 0 || int(b) >= n {
				return bad("has a neighbour out of range")
			}
		}
	}
	return nil
}

// SaveFile writes the artifact to path atomically (a temporary file in the
// same directory, then a rename), so a reader never sees half a model.
func (m *Model) SaveFile(path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".model-*")
	if err != nil {
		return fmt.Errorf("ranker: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = m.Save(f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("ranker: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("ranker: %w", err)
	}
	return nil
}

// LoadFile reads an artifact from path.
func LoadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ranker: %w", err)
	}
	defer f.Close()
	return Load(f)
}

// Store holds the model serving uses and swaps it atomically: readers call
// Model on every request and never see a half-replaced model.
type Store struct {
	p atomic.Pointer[Model]
}

// NewStore returns a store holding m (which may be nil).
func NewStore(m *Model) *Store {
	s := &Store{}
	s.p.Store(m)
	return s
}

// Model returns the current model, or nil if none was set.
func (s *Store) Model() *Model { return s.p.Load() }

// Swap installs m and returns the previous model.
func (s *Store) Swap(m *Model) *Model { return s.p.Swap(m) }

// LoadFile reads the artifact at path and, if it is valid, installs it.
func (s *Store) LoadFile(path string) error {
	m, err := LoadFile(path)
	if err != nil {
		return err
	}
	s.p.Store(m)
	return nil
}
