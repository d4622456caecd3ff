package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/tide-live/tide/features/offline"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
)

// Files of a model version directory.
const (
	ProductsFile = "products.bin" // users × products ranker.Model
	AnchorsFile  = "anchors.bin"  // users × anchors ranker.Model (rooms by their merchant_id)
	CTRFile      = "ctr.bin"      // ctr.Artifact
	ManifestFile = "manifest.json"
	// CurrentLink is the symbolic link in the output directory that names
	// the version serving should load. It is replaced atomically (a new link
	// renamed over the old one).
	CurrentLink = "current"
)

// ErrNoCurrent is returned by Current when no version was published.
var ErrNoCurrent = errors.New("no current model version")

// ModelInfo describes one CF model of a version.
type ModelInfo struct {
	File         string  `json:"file"`
	Users        int     `json:"users"`
	Items        int     `json:"items"`
	Pairs        int     `json:"pairs"`
	TrainSeconds float64 `json:"train_seconds"`
}

// CTRInfo describes the CTR models of a version.
type CTRInfo struct {
	File string `json:"file"`
	// From and To bound the impressions the CTR models were fitted on; the
	// CF scores of their features come from models trained before From.
	From     time.Time    `json:"from"`
	To       time.Time    `json:"to"`
	Events   int64        `json:"events_replayed"`
	Rooms    *ctr.Metrics `json:"rooms,omitempty"`
	Products *ctr.Metrics `json:"products,omitempty"`
	// Keep is the fraction of viewers whose impressions were sampled
	// (Options.MaxSamples bounds the samples).
	Keep float64 `json:"viewer_sample_fraction"`
	// Skipped says why a model is missing (too little data).
	Skipped      []string `json:"skipped,omitempty"`
	TrainSeconds float64  `json:"train_seconds"`
}

// Manifest is manifest.json: what a version holds and how it was made.
type Manifest struct {
	Version   string          `json:"version"`
	CreatedAt time.Time       `json:"created_at"`
	From      time.Time       `json:"from"` // interactions received in [From, To)
	To        time.Time       `json:"to"`
	Weights   offline.Weights `json:"weights"`
	Products  ModelInfo       `json:"products"`
	Anchors   ModelInfo       `json:"anchors"`
	CTR       CTRInfo         `json:"ctr"`
	Seconds   float64         `json:"seconds"` // the whole job
}

// Bundle is one loaded version.
type Bundle struct {
	Dir      string
	Manifest Manifest
	Products *ranker.Model
	Anchors  *ranker.Model
	CTR      *ctr.Artifact
}

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Current returns the version directory the current link of out names.
func Current(out string) (string, error) {
	target, err := os.Readlink(filepath.Join(out, CurrentLink))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("train: %s: %w", out, ErrNoCurrent)
	}
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(out, target)
	}
	return target, nil
}

// LoadCurrent loads the version the current link of out names. Resolving
// the link once and loading from the version directory means a concurrent
// publish never mixes two versions' files.
func LoadCurrent(out string) (*Bundle, error) {
	dir, err := Current(out)
	if err != nil {
		return nil, err
	}
	return LoadDir(dir)
}

// LoadDir loads a version directory.
func LoadDir(dir string) (*Bundle, error) {
	b := &Bundle{Dir: dir}
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := json.Unmarshal(raw, &b.Manifest); err != nil {
		return nil, fmt.Errorf("train: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if b.Products, err = ranker.LoadFile(filepath.Join(dir, ProductsFile)); err != nil {
		return nil, err
	}
	if b.Anchors, err = ranker.LoadFile(filepath.Join(dir, AnchorsFile)); err != nil {
		return nil, err
	}
	if b.CTR, err = ctr.LoadFile(filepath.Join(dir, CTRFile)); err != nil {
		return nil, err
	}
	return b, nil
}

// checkVersion rejects a version name that is not a plain name or exists
// in out already.
func checkVersion(out, version string) error {
	if !versionRE.MatchString(version) || version == CurrentLink {
		return fmt.Errorf("train: version %q is not a plain name", version)
	}
	if _, err := os.Stat(filepath.Join(out, version)); err == nil {
		return fmt.Errorf("train: version %s already exists in %s", version, out)
	}
	return nil
}

// write stores the models and manifest as out/<version> (written in a
// temporary directory renamed into place); Run then publishes it, or
// leaves that to the holdout gate (Promote).
func write(out string, man *Manifest, products, anchors *ranker.Model, c *ctr.Artifact) (string, error) {
	if err := checkVersion(out, man.Version); err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	dir := filepath.Join(out, man.Version)
	tmp, err := os.MkdirTemp(out, ".tmp-"+man.Version+"-")
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := products.SaveFile(filepath.Join(tmp, ProductsFile)); err != nil {
		return "", err
	}
	if err := anchors.SaveFile(filepath.Join(tmp, AnchorsFile)); err != nil {
		return "", err
	}
	if err := c.SaveFile(filepath.Join(tmp, CTRFile)); err != nil {
		return "", err
	}
	raw, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ManifestFile), append(raw, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	for _, f := range []string{ProductsFile, AnchorsFile, CTRFile} { // the savers make 0600 temporaries
		if err := os.Chmod(filepath.Join(tmp, f), 0o644); err != nil {
			return "", fmt.Errorf("train: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	ok = true
	return dir, nil
}

// Publish points out's current link at version (a directory in out),
// atomically: a new link is made beside it and renamed over the old one.
// The version is appended to the history Rollback goes back through.
func Publish(out, version string) error {
	if _, err := os.Stat(filepath.Join(out, version, ManifestFile)); err != nil {
		return fmt.Errorf("train: cannot publish %s: %w", version, err)
	}
	vs, err := readHistory(out)
	if err != nil {
		return err
	}
	if err := relink(out, version); err != nil {
		return err
	}
	return writeHistory(out, append(vs, version))
}

// relink points out's current link at version atomically.
func relink(out, version string) error {
	tmp := filepath.Join(out, fmt.Sprintf(".%s-%d", CurrentLink, time.Now().UnixNano()))
	if err := os.Symlink(version, tmp); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(out, CurrentLink)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("train: %w", err)
	}
	return nil
}
