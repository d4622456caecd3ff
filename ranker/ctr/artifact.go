package ctr

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/tide-live/tide/ranker"
)

// Artifact format: the 8-byte magic "TIDECTR\n", a big-endian uint32
// format version, then the Artifact encoded with encoding/gob.
const (
	artifactMagic = "TIDECTR\n"
	// FormatVersion is the artifact format this code writes and reads.
	FormatVersion uint32 = 1
)

// Artifact is what ctr.bin holds: the room model and the product model
// (either may be nil when there was too little data for it).
type Artifact struct {
	Rooms    *Model
	Products *Model
	// Version is the model version the artifact belongs to (the version
	// directory tide train wrote it in; "" in artifacts written before
	// versions were recorded). Serving names it in its reasons.
	Version string
}

// Save writes the artifact to w.
func (a *Artifact) Save(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var hdr [12]byte
	copy(hdr[:8], artifactMagic)
	binary.BigEndian.PutUint32(hdr[8:], FormatVersion)
	if _, err := bw.Write(hdr[:]); err != nil {
		return fmt.Errorf("ctr: writing artifact: %w", err)
	}
	if err := gob.NewEncoder(bw).Encode(a); err != nil {
		return fmt.Errorf("ctr: encoding artifact: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ctr: writing artifact: %w", err)
	}
	return nil
}

// Load reads an artifact written by Save. Errors wrap ranker.ErrBadArtifact.
func Load(r io.Reader) (*Artifact, error) {
	br := bufio.NewReader(r)
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("ctr: reading artifact header: %w (%w)", ranker.ErrBadArtifact, err)
	}
	if string(hdr[:8]) != artifactMagic {
		return nil, fmt.Errorf("ctr: not a CTR artifact (magic %q): %w", hdr[:8], ranker.ErrBadArtifact)
	}
	if v := binary.BigEndian.Uint32(hdr[8:]); v != FormatVersion {
		return nil, fmt.Errorf("ctr: artifact format %d, this build reads %d: %w", v, FormatVersion, ranker.ErrBadArtifact)
	}
	a := new(Artifact)
	if err := gob.NewDecoder(br).Decode(a); err != nil {
		return nil, fmt.Errorf("ctr: decoding artifact: %w (%w)", ranker.ErrBadArtifact, err)
	}
	for _, m := range []*Model{a.Rooms, a.Products} {
		if m == nil {
			continue
		}
		if err := m.check(); err != nil {
			return nil, err
		}
		m.init()
	}
	return a, nil
}

// check rejects a model this build would score wrongly.
func (m *Model) check() error {
	if len(m.Names) != N {
		return fmt.Errorf("ctr: %s model has %d features, this build has %d: %w", m.Kind, len(m.Names), N, ranker.ErrBadArtifact)
	}
	want := RoomNames
	if m.Kind == Products {
		want = ProductNames
	}
	for i, n := range m.Names {
		if n != want[i] {
			return fmt.Errorf("ctr: %s model feature %d is %q, this build has %q: %w", m.Kind, i, n, want[i], ranker.ErrBadArtifact)
		}
	}
	vals := append(append(append(m.Weights[:0:0], m.Weights[:]...), m.Mean[:]...), m.Scale[:]...)
	for _, v := range append(vals, m.Bias) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("ctr: %s model has a non-finite parameter: %w", m.Kind, ranker.ErrBadArtifact)
		}
	}
	return nil
}

// SaveFile writes the artifact to path atomically (a temporary file in the
// same directory, then a rename).
func (a *Artifact) SaveFile(path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".ctr-*")
	if err != nil {
		return fmt.Errorf("ctr: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = a.Save(f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("ctr: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("ctr: %w", err)
	}
	return nil
}

// LoadFile reads an artifact from path.
func LoadFile(path string) (*Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ctr: %w", err)
	}
	defer f.Close()
	return Load(f)
}
