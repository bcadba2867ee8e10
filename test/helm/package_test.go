package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/inferencepool-operator/inferencepool-operator/hack/helmchart/chartgen"
)

// TestPackageIsReproducible: `make helm-package` (chartgen.Package, Helm's package action) writes
// the same bytes on every run for the same version and SOURCE_DATE_EPOCH; the archive is the
// chart at that version, with appVersion v<version>, every file stamped with that time, and lints
// clean as a packaged chart.
func TestPackageIsReproducible(t *testing.T) {
	epoch := time.Unix(1700000000, 0).UTC()
	pack := func(version string, at time.Time) []byte {
		t.Helper()
		path, err := chartgen.Package(chartgen.PackageOptions{Root: repoRoot(), Version: version, OutDir: t.TempDir(), SourceDateEpoch: at})
		if err != nil {
			t.Fatal(err)
		}
		if want := chartgen.ChartName + "-" + version + ".tgz"; filepath.Base(path) != want {
			t.Errorf("wrote %s, want %s", filepath.Base(path), want)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first, second := pack("1.2.3", epoch), pack("1.2.3", epoch)
	if !bytes.Equal(first, second) {
		t.Fatal("two packagings of the same chart differ")
	}
	// The timestamps are the epoch's, not the files' (or the test above would prove nothing).
	if later := pack("1.2.3", epoch.Add(time.Hour)); bytes.Equal(first, later) {
		t.Error("packaging with another SOURCE_DATE_EPOCH gave the same bytes; the archive has no timestamps?")
	}

	ch, err := loader.LoadArchive(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != "1.2.3" || ch.Metadata.AppVersion != "v1.2.3" {
		t.Errorf("packaged chart version %s appVersion %s, want 1.2.3 and v1.2.3", ch.Metadata.Version, ch.Metadata.AppVersion)
	}
	names := map[string]bool{}
	zr, err := gzip.NewReader(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s has mtime %v, want %v", h.Name, h.ModTime, epoch)
		}
	}
	for _, want := range []string{"Chart.yaml", "values.yaml", "values.schema.json", "templates/deployment.yaml",
		"templates/NOTES.txt", "templates/rbac/manager-role.yaml", "crds/inferencepool-operator.io_inferencegatewayparameters.yaml"} {
		if !names[chartgen.ChartName+"/"+want] {
			t.Errorf("the archive lacks %s (has %v)", want, names)
		}
	}
	for n := range names {
		if strings.HasSuffix(n, "~") || strings.HasSuffix(n, ".swp") || strings.Contains(n, "/.git") {
			t.Errorf("the archive carries %s, which .helmignore leaves out", n)
		}
	}

	// helm lint on the archive, as a chart repository user would get it.
	archive := filepath.Join(t.TempDir(), "chart.tgz")
	if err := os.WriteFile(archive, first, 0o644); err != nil {
		t.Fatal(err)
	}
	lint := action.NewLint()
	lint.Strict = true
	lint.KubeVersion = kubeVersion(t)
	if res := lint.Run([]string{archive}, nil); len(res.Errors) > 0 || res.TotalChartsLinted != 1 {
		t.Errorf("helm lint --strict on the packaged chart: %v", res.Errors)
	}

	for _, bad := range []string{"v1.2.3", "1.2", ""} {
		if _, err := chartgen.Package(chartgen.PackageOptions{Root: repoRoot(), Version: bad, OutDir: t.TempDir(), SourceDateEpoch: epoch}); err == nil {
			t.Errorf("Package(version %q) succeeded, want an error", bad)
		}
	}
}

// TestChartVersionIsTheProjectVersion: the committed Chart.yaml carries the version the Makefile
// and the committed bundle carry, and appVersion v<version>, the image tag the release workflow
// pushes, so an unreleased checkout installs consistently too.
func TestChartVersionIsTheProjectVersion(t *testing.T) {
	ch := loadChart(t)
	mk, err := os.ReadFile(filepath.Join(repoRoot(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VERSION \?= (\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile sets no VERSION ?= default")
	}
	version := string(m[1])
	bundleCSV, err := os.ReadFile(filepath.Join(repoRoot(), "bundle", "manifests", "inferencepool-operator.clusterserviceversion.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != version || ch.Metadata.AppVersion != "v"+version {
		t.Errorf("Chart.yaml version %s appVersion %s; the Makefile's VERSION is %s (want %s and v%s)",
			ch.Metadata.Version, ch.Metadata.AppVersion, version, version, version)
	}
	if !strings.Contains(string(bundleCSV), "\n  version: "+version+"\n") {
		t.Errorf("the committed bundle is not at version %s", version)
	}
}
