package bundle

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
)

// generateAtCommittedVersion runs the generator the way `make bundle VERSION=<committed version>`
// does (default image, channels) and returns its files.
func generateAtCommittedVersion(t *testing.T) bundlegen.Files {
	t.Helper()
	files, err := bundlegen.Generate(bundlegen.Options{Root: repoRoot(), Version: committedCSV(t).Spec.Version.String()})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestBundleIsUpToDate fails when `make bundle` would change the committed bundle: a file
// differs, is missing, or is left over. Any change to config/ (the RBAC markers' role.yaml, the
// CRD, the Deployment, the CSV base, the samples) must come with a regenerated bundle.
func TestBundleIsUpToDate(t *testing.T) {
	want := generateAtCommittedVersion(t)
	version := committedCSV(t).Spec.Version.String()
	fix := "run `make bundle VERSION=" + version + "` and commit bundle/ and bundle.Dockerfile"

	onDisk := map[string]bool{}
	err := filepath.WalkDir(bundleDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(repoRoot(), p)
		onDisk[filepath.ToSlash(rel)] = true
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	onDisk[bundlegen.DockerfileName] = true

	for _, p := range want.Paths() {
		got, err := os.ReadFile(filepath.Join(repoRoot(), filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s is missing: %s", p, fix)
			continue
		}
		if !bytes.Equal(got, want[p]) {
			t.Errorf("%s is stale: %s\n%s", p, fix, firstDifference(got, want[p]))
		}
	}
	for p := range onDisk {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is no longer generated: %s", p, fix)
		}
	}
}

// TestBundleGenerationIsDeterministic: two runs give the same bytes (no timestamps, no map order).
func TestBundleGenerationIsDeterministic(t *testing.T) {
	a, b := generateAtCommittedVersion(t), generateAtCommittedVersion(t)
	if strings.Join(a.Paths(), "\n") != strings.Join(b.Paths(), "\n") {
		t.Fatalf("two runs wrote different files:\n%v\n%v", a.Paths(), b.Paths())
	}
	for _, p := range a.Paths() {
		if !bytes.Equal(a[p], b[p]) {
			t.Errorf("%s differs between two runs:\n%s", p, firstDifference(a[p], b[p]))
		}
	}
}

// TestBundleVersionAndImage: the version and image given to the generator land where OLM reads them.
func TestBundleVersionAndImage(t *testing.T) {
	files, err := bundlegen.Generate(bundlegen.Options{
		Root: repoRoot(), Version: "1.2.3", Image: "example.com/op:test",
		Channels: []string{"alpha", "stable"}, DefaultChannel: "stable",
	})
	if err != nil {
		t.Fatal(err)
	}
	csv := string(files["bundle/manifests/"+bundlegen.PackageName+".clusterserviceversion.yaml"])
	for _, want := range []string{
		"name: " + bundlegen.PackageName + ".v1.2.3\n",
		"\n  version: 1.2.3\n",
		"containerImage: example.com/op:test\n",
		"image: example.com/op:test\n",
		"olm.skipRange: '>=0.0.0 <1.2.3'\n",
	} {
		if !strings.Contains(csv, want) {
			t.Errorf("CSV lacks %q", want)
		}
	}
	annotations := string(files["bundle/metadata/annotations.yaml"])
	for _, want := range []string{
		"operators.operatorframework.io.bundle.channels.v1: alpha,stable\n",
		"operators.operatorframework.io.bundle.channel.default.v1: stable\n",
	} {
		if !strings.Contains(annotations, want) {
			t.Errorf("annotations.yaml lacks %q", want)
		}
	}
	for _, bad := range []bundlegen.Options{
		{Root: repoRoot(), Version: "v1.2.3"},
		{Root: repoRoot(), Version: "1.2"},
		{Root: repoRoot(), Version: "1.2.3", Channels: []string{"alpha"}, DefaultChannel: "stable"},
	} {
		if _, err := bundlegen.Generate(bad); err == nil {
			t.Errorf("Generate(%+v) succeeded, want an error", bad)
		}
	}
}

// firstDifference shows the first differing line, to make a stale-bundle failure readable.
func firstDifference(got, want []byte) string {
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
