package bundle

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/validation"
	"github.com/operator-framework/api/pkg/validation/errors"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
)

// validationK8sVersion turns the removed-API checks of the OperatorHub validators from warnings
// into errors for this Kubernetes release, the one the tests' API server runs.
const validationK8sVersion = "1.37"

// TestBundleValidates loads the bundle the way `operator-sdk bundle validate ./bundle` does
// (manifests.GetBundleFromDir) and runs operator-framework's validators on it: the default bundle
// validators (CSV, CRD, bundle), the OperatorHub validator (the deprecated one, and its v2 split:
// operatorhub/v2, standard capabilities and categories), good practices and deprecated APIs, the
// removed-API checks made strict for the Kubernetes release the tests run. Any error fails;
// warnings are printed (go test -v, or make bundle-validate).
func TestBundleValidates(t *testing.T) {
	b, err := manifests.GetBundleFromDir(bundleDir())
	if err != nil {
		t.Fatalf("loading %s: %v", bundleDir(), err)
	}
	if b.CSV == nil {
		t.Fatal("the bundle has no CSV")
	}
	if b.Package != bundlegen.PackageName || b.DefaultChannel != bundlegen.DefaultChannel {
		t.Errorf("bundle package %q default channel %q, want %q and %q (from metadata/annotations.yaml)",
			b.Package, b.DefaultChannel, bundlegen.PackageName, bundlegen.DefaultChannel)
	}
	if len(b.V1CRDs) != 1 {
		t.Errorf("the bundle has %d v1 CRDs, want 1 (InferenceGatewayParameters)", len(b.V1CRDs))
	}

	validators := validation.DefaultBundleValidators.WithValidators(
		validation.OperatorHubValidator,
		validation.OperatorHubV2Validator,
		validation.StandardCapabilitiesValidator,
		validation.StandardCategoriesValidator,
		validation.GoodPracticesValidator,
		validation.AlphaDeprecatedAPIsValidator,
	)
	objs := append(b.ObjectsToValidate(), map[string]string{"k8s-version": validationK8sVersion})
	results := validators.Validate(objs...)
	if len(results) == 0 {
		t.Fatal("the validators returned no results")
	}
	errs, warns := summarize(results)
	for _, w := range warns {
		t.Logf("warning: %s", w)
	}
	for _, e := range errs {
		t.Errorf("error: %s", e)
	}
}

// TestBundleValidatorsCatchBrokenBundles makes sure the validation above can fail: a bundle with
// a CSV that lost its install modes and owns a CRD the bundle lacks must be rejected.
func TestBundleValidatorsCatchBrokenBundles(t *testing.T) {
	b, err := manifests.GetBundleFromDir(bundleDir())
	if err != nil {
		t.Fatal(err)
	}
	b.CSV.Spec.InstallModes = nil
	b.V1CRDs = nil
	errs, _ := summarize(validation.DefaultBundleValidators.Validate(b.ObjectsToValidate()...))
	joined := strings.Join(errs, "\n")
	for _, want := range []string{"install modes not found", "owned CRD"} {
		if !strings.Contains(joined, want) {
			t.Errorf("validating a broken bundle: no error mentioning %q in:\n%s", want, joined)
		}
	}
}

func summarize(results []errors.ManifestResult) (errs, warns []string) {
	for _, r := range results {
		for _, e := range r.Errors {
			errs = append(errs, r.Name+": "+e.Error())
		}
		for _, w := range r.Warnings {
			warns = append(warns, r.Name+": "+w.Error())
		}
	}
	sort.Strings(errs)
	sort.Strings(warns)
	return errs, warns
}

// TestBundleMetadataMatchesDockerfile: the bundle image labels and metadata/annotations.yaml are
// the same key/value pairs, with every registry+v1 key, and the Dockerfile copies each directory
// to where the labels say it is.
func TestBundleMetadataMatchesDockerfile(t *testing.T) {
	var annotations struct {
		Annotations map[string]string `json:"annotations"`
	}
	b, err := os.ReadFile(filepath.Join(bundleDir(), "metadata", "annotations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &annotations); err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join(repoRoot(), bundlegen.DockerfileName))
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	var copies []string
	for _, line := range strings.Split(string(df), "\n") {
		if kv, ok := strings.CutPrefix(line, "LABEL "); ok {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = v
		}
		if c, ok := strings.CutPrefix(line, "COPY "); ok {
			copies = append(copies, c)
		}
	}
	if len(labels) != len(annotations.Annotations) {
		t.Errorf("%d Dockerfile labels, %d annotations", len(labels), len(annotations.Annotations))
	}
	for k, v := range annotations.Annotations {
		if labels[k] != v {
			t.Errorf("annotation %s=%q, Dockerfile label %q", k, v, labels[k])
		}
	}
	want := map[string]string{
		"operators.operatorframework.io.bundle.mediatype.v1":       "registry+v1",
		"operators.operatorframework.io.bundle.manifests.v1":       "manifests/",
		"operators.operatorframework.io.bundle.metadata.v1":        "metadata/",
		"operators.operatorframework.io.bundle.package.v1":         bundlegen.PackageName,
		"operators.operatorframework.io.bundle.channels.v1":        "alpha",
		"operators.operatorframework.io.bundle.channel.default.v1": "alpha",
		"operators.operatorframework.io.test.mediatype.v1":         "scorecard+v1",
		"operators.operatorframework.io.test.config.v1":            "tests/scorecard/",
	}
	for k, v := range want {
		if annotations.Annotations[k] != v {
			t.Errorf("annotation %s=%q, want %q", k, annotations.Annotations[k], v)
		}
	}
	for _, dir := range []string{"manifests", "metadata", "tests/scorecard"} {
		c := "bundle/" + dir + " /" + dir + "/"
		found := false
		for _, got := range copies {
			found = found || got == c
		}
		if !found {
			t.Errorf("bundle.Dockerfile does not COPY %s (has %v)", c, copies)
		}
		if _, err := os.Stat(filepath.Join(bundleDir(), filepath.FromSlash(dir))); err != nil {
			t.Errorf("bundle/%s: %v", dir, err)
		}
	}
}

// TestScorecardConfig: the scorecard config is a valid v1alpha3 Configuration whose tests all name
// an image and an entrypoint.
func TestScorecardConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(bundleDir(), "tests", "scorecard", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &v1alpha3.Configuration{}
	if err := yaml.UnmarshalStrict(b, cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.APIVersion != "scorecard.operatorframework.io/v1alpha3" || cfg.Kind != "Configuration" {
		t.Errorf("scorecard config is %s %s", cfg.APIVersion, cfg.Kind)
	}
	n := 0
	for _, s := range cfg.Stages {
		for _, test := range s.Tests {
			n++
			if test.Image == "" || len(test.Entrypoint) == 0 || test.Labels["test"] == "" {
				t.Errorf("incomplete scorecard test %+v", test)
			}
		}
	}
	if n == 0 {
		t.Error("the scorecard config has no tests")
	}
}
