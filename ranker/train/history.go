package train

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// HistoryFile, in the output directory, lists the versions made current,
// one a line, oldest first: Publish appends, Rollback removes the last.
const HistoryFile = "history"

// ErrNoPrevious is returned by Rollback when no earlier version was
// published.
var ErrNoPrevious = errors.New("no earlier published version to roll back to")

// readHistory returns the published versions, oldest first.
func readHistory(out string) ([]string, error) {
	f, err := os.Open(filepath.Join(out, HistoryFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	var vs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v := strings.TrimSpace(sc.Text()); v != "" {
			vs = append(vs, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("train: %s: %w", HistoryFile, err)
	}
	return vs, nil
}

// writeHistory replaces the history atomically.
func writeHistory(out string, vs []string) error {
	tmp, err := os.CreateTemp(out, ".history-*")
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v)
		b.WriteByte('\n')
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("train: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("train: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(out, HistoryFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// Rollback moves out's current link back to the version published before
// the current one and drops the current one from the history (a second
// Rollback goes back one more). The rolled-back version's directory stays.
// It returns the version now current.
func Rollback(out string) (string, error) {
	dir, err := Current(out)
	if err != nil {
		return "", err
	}
	cur := filepath.Base(dir)
	vs, err := readHistory(out)
	if err != nil {
		return "", err
	}
	for len(vs) > 0 && vs[len(vs)-1] != cur { // entries after a manual relink
		vs = vs[:len(vs)-1]
	}
	if len(vs) < 2 {
		return "", fmt.Errorf("train: %s has no version published before %s in its %s file: %w", out, cur, HistoryFile, ErrNoPrevious)
	}
	prev := vs[len(vs)-2]
	if err := relink(out, prev); err != nil {
		return "", err
	}
	if err := writeHistory(out, vs[:len(vs)-1]); err != nil {
		return "", err
	}
	return prev, nil
}
