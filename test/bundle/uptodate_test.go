package bundle

import (
	"strings"
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
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
	version := committedCSV(t).Spec.Version.String()
	installtest.CheckGeneratedFiles(t, generateAtCommittedVersion(t), []string{bundlegen.BundleDir}, []string{bundlegen.DockerfileName},
		"run `make bundle VERSION="+version+"` and commit bundle/ and bundle.Dockerfile")
}

// TestBundleGenerationIsDeterministic: two runs give the same bytes (no timestamps, no map order).
func TestBundleGenerationIsDeterministic(t *testing.T) {
	installtest.CheckDeterministic(t, func() (map[string][]byte, error) { return generateAtCommittedVersion(t), nil })
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
