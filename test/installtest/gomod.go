package installtest

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/modfile"
)

// RequiredVersion returns the version of module that the go.mod at gomod (slash-separated,
// relative to the repository root) requires, failing the test when it requires none.
func RequiredVersion(t testing.TB, gomod, module string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(), filepath.FromSlash(gomod)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(gomod, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == module {
			return r.Mod.Version
		}
	}
	t.Fatalf("%s does not require %s", gomod, module)
	return ""
}
