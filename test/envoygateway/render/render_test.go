package render_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway/render"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// The committed install objects are what Envoy Gateway's chart renders now: after an upgrade of
// Envoy Gateway in go.mod, this fails until `make eg-manifests` has rewritten them.
func TestCommittedManifestsAreRendered(t *testing.T) {
	files, err := render.Render()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(envtest.RepoRoot(), "test", "envoygateway", "manifests")
	for _, name := range render.Names() {
		have, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%v (run make eg-manifests)", err)
			continue
		}
		if !bytes.Equal(have, files[name]) {
			t.Errorf("test/envoygateway/manifests/%s differs from what Envoy Gateway's chart renders: run make eg-manifests", name)
		}
	}
	entries, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(files) {
		t.Errorf("%d manifests committed, %d rendered: remove what the chart no longer renders", len(entries), len(files))
	}
}
