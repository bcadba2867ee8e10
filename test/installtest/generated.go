package installtest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// CheckGeneratedFiles fails the test when the committed files under the repository root are not
// what a generator writes (want, by slash-separated path): a file differs or is missing, or a file
// in one of the directories the generator owns (ownedDirs, plus the single files in ownedFiles)
// is not generated any more. fix says how to regenerate.
func CheckGeneratedFiles(t testing.TB, want map[string][]byte, ownedDirs, ownedFiles []string, fix string) {
	t.Helper()
	onDisk := map[string]bool{}
	for _, f := range ownedFiles {
		onDisk[f] = true
	}
	for _, d := range ownedDirs {
		err := filepath.WalkDir(filepath.Join(RepoRoot(), filepath.FromSlash(d)), func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, err := filepath.Rel(RepoRoot(), p)
			onDisk[filepath.ToSlash(rel)] = true
			return err
		})
		if err != nil {
			t.Errorf("%s: %v (%s)", d, err, fix)
		}
	}
	for _, p := range sortedPaths(want) {
		got, err := os.ReadFile(filepath.Join(RepoRoot(), filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s is missing: %s", p, fix)
			continue
		}
		if !bytes.Equal(got, want[p]) {
			t.Errorf("%s is stale: %s\n%s", p, fix, FirstDifference(got, want[p]))
		}
	}
	for p := range onDisk {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is no longer generated: %s", p, fix)
		}
	}
}

// CheckDeterministic runs a generator twice and fails the test unless both runs write the same
// files with the same bytes (no timestamps, no map order).
func CheckDeterministic(t testing.TB, generate func() (map[string][]byte, error)) {
	t.Helper()
	a, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(sortedPaths(a), "\n") != strings.Join(sortedPaths(b), "\n") {
		t.Fatalf("two runs wrote different files:\n%v\n%v", sortedPaths(a), sortedPaths(b))
	}
	for _, p := range sortedPaths(a) {
		if !bytes.Equal(a[p], b[p]) {
			t.Errorf("%s differs between two runs:\n%s", p, FirstDifference(a[p], b[p]))
		}
	}
}

func sortedPaths(files map[string][]byte) []string {
	var out []string
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// FirstDifference shows the first differing line, to make a stale-file failure readable.
func FirstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  committed: %s\n  generated: %s", i+1, gl, wl)
		}
	}
	return "(same lines, different bytes)"
}
